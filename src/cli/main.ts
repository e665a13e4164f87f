#!/usr/bin/env node
/**
 * The `libvirt-migration-policy` executable: runs the command line on this process and exits with its code.
 * Everything else lives in `program.ts`, which the tests run in-process.
 */
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  onInterrupt: (handler) => {
    process.on('SIGINT', handler);
    return () => process.off('SIGINT', handler);
  },
});
