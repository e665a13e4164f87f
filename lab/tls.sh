# shellcheck shell=bash
# lab/tls.sh - the lab's TLS: a small CA and each host's certificates (sourced by lab/up.sh with LAB_TLS=1, or
# run: `bash lab/tls.sh issue OUT_DIR NAME ADDRESS [--expired] [--ca CA_DIR]` to issue a certificate set the tests
# use to break a host on purpose). certtool (gnutls-bin) only. See docs/security.md "The lab's TLS".
#
# Layout under the state dir (each host's dirs are bind-mounted over its private /etc/pki/*):
#   pki/ca/                       ca-cert.pem ca-key.pem            the lab's CA (kept across restarts)
#   <host>/pki/CA/                cacert.pem                        = /etc/pki/CA       (libvirtd, client and server)
#   <host>/pki/libvirt/           servercert.pem clientcert.pem     = /etc/pki/libvirt
#                     private/    serverkey.pem clientkey.pem
#   <host>/pki/qemu/              ca-cert.pem server-cert.pem server-key.pem client-cert.pem client-key.pem
#                                                                   = /etc/pki/qemu     (QEMU's migration TLS)
#   <host>/pki/agent/             cacert.pem clientcert.pem clientkey.pem
#                                 a libvirt client's pkipath= for an agent on that host (qemu+tls://…?pkipath=)

LAB_TLS="${LAB_TLS:-0}"
# Each host's name on the lab link: in its certificates' SANs and in its private /etc/hosts.
declare -A LAB_TLS_NAME=([src]=src.lab [dst]=dst.lab)
LAB_TLS_PORT=16514

tls_org() { printf 'lmp lab %s' "$LAB_NAME"; }
# The distinguished name of a host's client certificate as libvirtd's tls_allowed_dn_list matches it: in the
# certificate's own order, as `virt-pki-query-dn` prints it (not RFC 4514's reversed one that certtool -i shows).
tls_client_dn() { printf 'O=%s,CN=%s' "$(tls_org)" "${LAB_TLS_NAME[$1]}"; }
tls_ca_dir() { printf '%s/pki/ca' "$LAB_STATE"; }
host_pki() { printf '%s/pki' "$(host_dir "$1")"; }
# A libvirt URI reaching host $1's libvirtd over TLS from inside the lab (its name resolves in the hosts'
# /etc/hosts and in lab/in-host.sh), with the agent certificate of host $2 (the client's host).
host_tls_uri() { printf 'qemu+tls://%s/system?pkipath=%s/agent' "${LAB_TLS_NAME[$1]}" "$(host_pki "$2")"; }

tls_key() { certtool --generate-privkey --key-type=rsa --sec-param=medium --outfile "$1" 2>/dev/null; }

# tls_sign TEMPLATE OUT_CERT KEY CA_DIR: a certificate for KEY, signed by the CA in CA_DIR.
tls_sign() {
  certtool --generate-certificate --template "$1" --load-privkey "$3" \
    --load-ca-certificate "$4/ca-cert.pem" --load-ca-privkey "$4/ca-key.pem" --outfile "$2" 2>/dev/null ||
    die "certtool could not sign $2"
}

# tls_make_ca DIR ORG: a self-signed CA (10 years).
tls_make_ca() {
  local dir="$1" org="$2"
  mkdir -p "$dir"
  chmod 700 "$dir"
  tls_key "$dir/ca-key.pem" || die "certtool could not make the CA key in $dir"
  cat >"$dir/ca.tmpl" <<EOF
cn = "$org CA"
organization = "$org"
ca
cert_signing_key
expiration_days = 3650
EOF
  certtool --generate-self-signed --template "$dir/ca.tmpl" --load-privkey "$dir/ca-key.pem" \
    --outfile "$dir/ca-cert.pem" 2>/dev/null || die "certtool could not make the CA in $dir"
}

# tls_issue OUT NAME ADDRESS CA_DIR [expired]: a server and a client certificate with their keys for host
# NAME (SANs: the DNS name and the IP address), in OUT as server-cert.pem server-key.pem client-cert.pem
# client-key.pem ca-cert.pem (QEMU's names). "expired" dates them in the past (valid 2020-01-01 to 2020-01-02).
tls_issue() {
  local out="$1" name="$2" address="$3" ca="$4" expired="${5:-}" role dates
  mkdir -p "$out"
  chmod 700 "$out"
  if [[ "$expired" == expired ]]; then
    dates=$'activation_date = "2020-01-01 00:00:00 UTC"\nexpiration_date = "2020-01-02 00:00:00 UTC"'
  else
    dates='expiration_days = 3650'
  fi
  for role in server client; do
    tls_key "$out/$role-key.pem" || die "certtool could not make $out/$role-key.pem"
    {
      printf 'cn = "%s"\norganization = "%s"\n%s\n' "$name" "$(tls_org)" "$dates"
      if [[ "$role" == server ]]; then
        printf 'dns_name = "%s"\nip_address = "%s"\ntls_www_server\n' "$name" "$address"
      else
        printf 'tls_www_client\n'
      fi
      printf 'encryption_key\nsigning_key\n'
    } >"$out/$role.tmpl"
    tls_sign "$out/$role.tmpl" "$out/$role-cert.pem" "$out/$role-key.pem" "$ca"
    rm -f "$out/$role.tmpl"
  done
  cp "$ca/ca-cert.pem" "$out/ca-cert.pem"
  chmod 600 "$out"/*-key.pem
}

# tls_install_host H: host H's certificates in the three layouts (QEMU, libvirtd, a libvirt client's pkipath).
tls_install_host() {
  local h="$1" p
  p="$(host_pki "$h")"
  rm -rf "$p"
  tls_issue "$p/qemu" "${LAB_TLS_NAME[$h]}" "${LAB_ADDR[$h]}" "$(tls_ca_dir)"
  mkdir -p "$p/CA" "$p/libvirt/private" "$p/agent"
  cp "$p/qemu/ca-cert.pem" "$p/CA/cacert.pem"
  cp "$p/qemu/server-cert.pem" "$p/libvirt/servercert.pem"
  cp "$p/qemu/server-key.pem" "$p/libvirt/private/serverkey.pem"
  cp "$p/qemu/client-cert.pem" "$p/libvirt/clientcert.pem"
  cp "$p/qemu/client-key.pem" "$p/libvirt/private/clientkey.pem"
  cp "$p/qemu/ca-cert.pem" "$p/agent/cacert.pem"
  cp "$p/qemu/client-cert.pem" "$p/agent/clientcert.pem"
  cp "$p/qemu/client-key.pem" "$p/agent/clientkey.pem"
  chmod 600 "$p/libvirt/private/"*.pem "$p/agent/clientkey.pem"
}

# The CA is kept across restarts (a host restarted alone must still trust the other); each host's
# certificates are made once and kept with it. A missing CA means a new lab: every host is issued anew.
tls_setup() {
  local h fresh=0
  [[ -s "$(tls_ca_dir)/ca-cert.pem" && -s "$(tls_ca_dir)/ca-key.pem" ]] || {
    log "TLS: making the lab's CA in $(tls_ca_dir)"
    tls_make_ca "$(tls_ca_dir)" "$(tls_org)"
    fresh=1
  }
  for h in "${LAB_HOSTS[@]}"; do
    if ((fresh)) || ! tls_host_complete "$h"; then
      log "TLS: issuing ${LAB_TLS_NAME[$h]}'s certificates (SANs DNS:${LAB_TLS_NAME[$h]}, IP:${LAB_ADDR[$h]})"
      tls_install_host "$h"
    fi
  done
}

tls_host_complete() {
  local p f
  p="$(host_pki "$1")"
  for f in qemu/ca-cert.pem qemu/server-cert.pem qemu/server-key.pem qemu/client-cert.pem qemu/client-key.pem \
    CA/cacert.pem libvirt/servercert.pem libvirt/private/serverkey.pem libvirt/clientcert.pem \
    libvirt/private/clientkey.pem agent/cacert.pem agent/clientcert.pem agent/clientkey.pem; do
    [[ -s "$p/$f" ]] || return 1
  done
}

# Host H's private /etc/hosts: both lab hosts by name (bind-mounted in the host's mount namespace).
write_hosts_file() {
  local h="$1" g
  {
    printf '# generated by lab/up.sh for lab %s host %s\n127.0.0.1\tlocalhost\n::1\tlocalhost\n' "$LAB_NAME" "$h"
    for g in "${LAB_HOSTS[@]}"; do printf '%s\t%s\n' "${LAB_ADDR[$g]}" "${LAB_TLS_NAME[$g]}"; done
  } >"$(host_dir "$h")/hosts"
}

# The libvirtd.conf and qemu.conf lines of a host with TLS on.
tls_libvirtd_conf() {
  local h="$1" g dns=()
  for g in "${LAB_HOSTS[@]}"; do dns+=("\"$(tls_client_dn "$g")\""); done
  local IFS=,
  cat <<EOF
# TLS (LAB_TLS=1): libvirtd listens on the lab link only, for clients with a certificate of the lab's CA
listen_tls = 1
listen_tcp = 0
listen_addr = "${LAB_ADDR[$h]}"
tls_port = "$LAB_TLS_PORT"
tls_no_verify_certificate = 0
tls_allowed_dn_list = [${dns[*]}]
EOF
}

tls_qemu_conf() {
  cat <<'EOF'
# TLS (LAB_TLS=1): QEMU's migration stream with x509 certificates, the peer's certificate verified
default_tls_x509_cert_dir = "/etc/pki/qemu"
default_tls_x509_verify = 1
migrate_tls_x509_cert_dir = "/etc/pki/qemu"
migrate_tls_x509_verify = 1
EOF
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  # shellcheck source=lab/lib.sh
  source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
  case "${1:-}" in
  issue)
    shift
    (($# >= 3)) || die "usage: bash lab/tls.sh issue OUT_DIR NAME ADDRESS [--expired] [--ca CA_DIR]"
    out="$1" name="$2" address="$3"
    shift 3
    expired='' ca="$(tls_ca_dir)"
    while (($#)); do
      case "$1" in
      --expired) expired=expired ;;
      --ca)
        ca="$2"
        shift
        ;;
      *) die "unknown option $1" ;;
      esac
      shift
    done
    # A CA that does not exist yet is made (a "wrong CA" for the tests).
    [[ -s "$ca/ca-cert.pem" ]] || tls_make_ca "$ca" "$(tls_org) (other)"
    tls_issue "$out" "$name" "$address" "$ca" "$expired"
    printf '%s\n' "$out"
    ;;
  *) die "usage: bash lab/tls.sh issue OUT_DIR NAME ADDRESS [--expired] [--ca CA_DIR]" ;;
  esac
fi
