#!/usr/bin/env node
/** The smooth-reduce executable (package.json bin); the command line itself is in program.ts. */
import { main } from './program.js';

main(process.argv).then((code) => {
  process.exitCode = code;
});
