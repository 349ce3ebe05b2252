#!/usr/bin/env node
// The `nestjs-pgqueue` command (package.json "bin"). It loads `pg` and the migrator, never Nest, so it starts fast.
import { runCli } from './run';

// Output piped into a command that stops reading early (`| head`) ends the output, not with a crash.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

void runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }, process.env).then((code) => {
  process.exitCode = code;
});
