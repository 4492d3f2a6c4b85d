// The flag definitions alone, so serve can declare them without loading node:cluster and the Redis client.
import { availableParallelism } from 'node:os';
import type { OptionSpec } from './command.js';

/** `--workers` and `--redis`, shared by serve and udp-serve. */
export const SCALE_OPTIONS = {
  workers: {
    type: 'number',
    default: 1,
    min: 1,
    max: 256,
    description: `Processes serving the same port (node:cluster); the primary holds the shared state (this machine: ${availableParallelism()} cores)`,
  },
  redis: {
    type: 'string',
    placeholder: 'url',
    description: 'Share the state with every instance on this Redis (redis://host:port[/db]); Redis down at start is an error',
  },
} as const satisfies Record<string, OptionSpec>;
