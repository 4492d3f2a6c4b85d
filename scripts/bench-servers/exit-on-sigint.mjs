// Loaded with `node --import` by the cost suite's profiles: exit at once on SIGINT, so that `--cpu-prof` writes
// its profile (the bare servers have no handler and would die without one; socklab's own would first close gently).
process.on('SIGINT', () => process.exit(0));
