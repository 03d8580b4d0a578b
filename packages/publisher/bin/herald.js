#!/usr/bin/env node
// The bin pnpm links at install time, before `pnpm build` has made dist/: it runs the built CLI.
import '../dist/cli.js'
