/*
 * lab/guest/init.c - /init of the lab guest's initramfs (static, no libc
 * services needed beyond syscalls).
 *
 * Workload for live-migration tests: fills a buffer with a verifiable pattern
 * and keeps rewriting pages, each rewrite preceded by CPU work (LCG
 * iterations) so that the writer is CPU-bound - auto-converge throttles vCPUs,
 * which only slows a writer whose rate depends on CPU time.
 *
 * Config from the kernel command line (dotted params are not passed to init,
 * so /proc/cmdline is read):
 *   lmp.buffer_mib=N      buffer size in MiB (default 192)
 *   lmp.mode=cpu|mem|idle cpu: work+write; mem: write without work; idle:
 *                         fill once then only verify (default cpu)
 *   lmp.work=N            LCG iterations per page write in cpu mode (40000)
 *   lmp.verify_per_s=N    pages verified by the rolling sweep each second
 *                         (default 4096; every page written is also verified
 *                         just before it is rewritten)
 *   lmp.seed=N            pattern seed (default 1)
 *   lmp.flush_hz=N        wake-ups per second of a helper process (default 1000,
 *                         0 = none); each switch to it reloads CR3, which makes
 *                         TCG flush its softmmu TLB. This narrows a QEMU < 9.0
 *                         TCG bug (lost dirty bits during migration, upstream
 *                         fix 03bfc2188f "physmem: Fix migration dirty bitmap
 *                         coherency with TCG memory access"), see docs/lab.md.
 *
 * Serial console lines (ttyS0):
 *   LMP ready buffer_mib=<n> pages=<n> mode=<m> work=<n> seed=<n> t=<ms>
 *   LMP t=<uptime_ms> pages_per_s=<n> verified=<n> corrupt=<n> gen=<g> sweeps=<n>
 *   LMP CORRUPT page=<i> expected_gen=<g> found_gen=<g> word=<w>
 *   LMP error <message>
 * verified/corrupt are cumulative page counts since boot; gen is the number of
 * page rewrites since boot (each rewrite stamps the page with the next
 * generation); sweeps counts completed full passes of the rolling verifier.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u
#define WORDS (PAGE / 8u)
#define MAGIC 0x4c4d505041474521ULL /* "LMPPAGE!" */
#define LCG_A 6364136223846793005ULL
#define LCG_C 1442695040888963407ULL

static int con = 1;

static void say(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof buf - 2) n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(con, p, (size_t)n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    p += w;
    n -= (int)w;
  }
}

static void die(const char *msg) {
  say("LMP error %s (errno=%d)", msg, errno);
  sync();
  reboot(RB_POWER_OFF);
  for (;;) pause();
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

static uint64_t seed = 1;

/* Page i at generation g: header, LCG stream derived from (i, g, seed), checksum. */
static void fill(uint64_t *w, uint64_t i, uint64_t g) {
  uint64_t s = mix(i * 0x9e3779b97f4a7c15ULL ^ mix(g) ^ seed);
  uint64_t sum = 0;
  w[0] = MAGIC ^ i;
  w[1] = g;
  for (unsigned j = 2; j < WORDS - 1; j++) {
    s = s * LCG_A + LCG_C;
    w[j] = s;
    sum += s ^ j;
  }
  w[WORDS - 1] = mix(sum ^ g ^ i);
}

/* Returns -1 when the page is intact, else the index of the first bad word. */
static int check(const uint64_t *w, uint64_t i, uint64_t g) {
  if (w[0] != (MAGIC ^ i)) return 0;
  if (w[1] != g) return 1;
  uint64_t s = mix(i * 0x9e3779b97f4a7c15ULL ^ mix(g) ^ seed);
  uint64_t sum = 0;
  for (unsigned j = 2; j < WORDS - 1; j++) {
    s = s * LCG_A + LCG_C;
    if (w[j] != s) return (int)j;
    sum += s ^ j;
  }
  if (w[WORDS - 1] != mix(sum ^ g ^ i)) return (int)(WORDS - 1);
  return -1;
}

static unsigned char *buf;
static uint64_t *pgen; /* expected generation of each page, kept apart from the page */
static uint64_t npages;
static uint64_t verified, corrupt, gen;
static unsigned corrupt_said_this_tick;

static void verify_page(uint64_t i) {
  const uint64_t *w = (const uint64_t *)(buf + i * PAGE);
  int bad = check(w, i, pgen[i]);
  if (bad < 0) {
    verified++;
    return;
  }
  corrupt++;
  if (corrupt_said_this_tick++ < 16)
    say("LMP CORRUPT page=%llu expected_gen=%llu found_gen=%llu word=%d", (unsigned long long)i,
        (unsigned long long)pgen[i], (unsigned long long)w[1], bad);
}

static char cmdline[4096];

static const char *param(const char *key) {
  size_t kl = strlen(key);
  char *p = cmdline;
  while (*p) {
    while (*p == ' ' || *p == '\n') p++;
    if (!strncmp(p, key, kl) && p[kl] == '=') return p + kl + 1;
    while (*p && *p != ' ' && *p != '\n') p++;
  }
  return NULL;
}

static uint64_t param_u64(const char *key, uint64_t def) {
  const char *v = param(key);
  if (!v) return def;
  char *end;
  unsigned long long x = strtoull(v, &end, 0);
  return end == v ? def : (uint64_t)x;
}

static void open_console(void) {
  mkdir("/dev", 0755);
  mount("devtmpfs", "/dev", "devtmpfs", 0, NULL); /* may already be there */
  int fd = open("/dev/ttyS0", O_WRONLY | O_NOCTTY);
  if (fd < 0) fd = open("/dev/console", O_WRONLY | O_NOCTTY);
  if (fd >= 0) con = fd;
}

int main(void) {
  open_console();
  mkdir("/proc", 0755);
  if (mount("proc", "/proc", "proc", 0, NULL) != 0 && errno != EBUSY) die("mount /proc");
  int fd = open("/proc/cmdline", O_RDONLY);
  if (fd < 0) die("open /proc/cmdline");
  ssize_t n = read(fd, cmdline, sizeof cmdline - 1);
  close(fd);
  cmdline[n > 0 ? n : 0] = 0;

  uint64_t flush_hz = param_u64("lmp.flush_hz", 1000);
  if (flush_hz > 0) {
    /* before the buffer exists, so that nothing is shared copy-on-write */
    pid_t pid = fork();
    if (pid == 0) {
      struct timespec ts = {0, (long)(1000000000ULL / flush_hz)};
      for (;;) nanosleep(&ts, NULL);
    }
  }
  uint64_t buffer_mib = param_u64("lmp.buffer_mib", 192);
  uint64_t work = param_u64("lmp.work", 40000);
  uint64_t verify_per_s = param_u64("lmp.verify_per_s", 4096);
  seed = param_u64("lmp.seed", 1);
  const char *m = param("lmp.mode");
  int mode = 0; /* 0 cpu, 1 mem, 2 idle */
  if (m && !strncmp(m, "mem", 3)) mode = 1;
  if (m && !strncmp(m, "idle", 4)) mode = 2;
  if (mode == 1) work = 0;
  static const char *mode_names[] = {"cpu", "mem", "idle"};

  if (buffer_mib == 0) buffer_mib = 1;
  npages = buffer_mib * (1024u * 1024u / PAGE);
  buf = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (buf == MAP_FAILED) die("mmap buffer (lmp.buffer_mib too large for the guest memory?)");
  pgen = calloc(npages, sizeof *pgen);
  if (!pgen) die("calloc generations");

  for (uint64_t i = 0; i < npages; i++) fill((uint64_t *)(buf + i * PAGE), i, 0);
  say("LMP ready buffer_mib=%llu pages=%llu mode=%s work=%llu seed=%llu flush_hz=%llu t=%llu", (unsigned long long)buffer_mib,
      (unsigned long long)npages, mode_names[mode], (unsigned long long)work, (unsigned long long)seed,
      (unsigned long long)flush_hz,
      (unsigned long long)now_ms());

  uint64_t x = mix(seed ^ 0x5eed);
  uint64_t cursor = 0, sweeps = 0, written_tick = 0;
  uint64_t tick_start = now_ms();
  uint64_t next = tick_start + 1000;

  for (;;) {
    if (mode == 2) {
      struct timespec ts = {0, 50 * 1000 * 1000};
      nanosleep(&ts, NULL);
    } else {
      for (int b = 0; b < 64; b++) {
        for (uint64_t k = 0; k < work; k++) x = x * LCG_A + LCG_C;
        x = x * LCG_A + LCG_C;
        uint64_t i = (x >> 17) % npages;
        verify_page(i);
        fill((uint64_t *)(buf + i * PAGE), i, ++gen);
        pgen[i] = gen;
        written_tick++;
      }
    }
    uint64_t t = now_ms();
    if (t < next) continue;
    for (uint64_t k = 0; k < verify_per_s && k < npages; k++) {
      verify_page(cursor);
      if (++cursor == npages) {
        cursor = 0;
        sweeps++;
      }
    }
    uint64_t el = t - tick_start;
    uint64_t rate = el ? written_tick * 1000u / el : 0;
    say("LMP t=%llu pages_per_s=%llu verified=%llu corrupt=%llu gen=%llu sweeps=%llu", (unsigned long long)t,
        (unsigned long long)rate, (unsigned long long)verified, (unsigned long long)corrupt,
        (unsigned long long)gen, (unsigned long long)sweeps);
    written_tick = 0;
    corrupt_said_this_tick = 0;
    tick_start = t;
    next = (t >= next + 1000) ? t + 1000 : next + 1000;
  }
}
