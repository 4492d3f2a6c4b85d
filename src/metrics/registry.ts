import { createRequire } from 'node:module';
import type { Counter, Gauge, Registry } from 'prom-client';

// prom-client is loaded by the first registry (a --metrics server), not by `import 'socklab'`.
const require = createRequire(import.meta.url);

/** A Prometheus metric read from the source at scrape time. */
export interface MetricSpec {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  labelNames?: string[];
  /** A single value, or one value per label set. */
  read: () => number | Array<[labels: Record<string, string>, value: number]>;
}

/**
 * A Prometheus registry of its own (never prom-client's global one, so two servers in one process, or a
 * library user's own metrics, do not collide) whose every metric reads the server's counters at scrape time:
 * nothing is counted twice and nothing runs per message.
 *
 * @example
 * const registry = createMetricsRegistry(source.metrics);
 * const text = await registry.metrics(); // Prometheus text format
 */
export function createMetricsRegistry(specs: readonly MetricSpec[]): Registry {
  const { Counter, Gauge, Registry } = require('prom-client') as typeof import('prom-client');
  const registry = new Registry();
  for (const spec of specs) {
    const config = { name: spec.name, help: spec.help, labelNames: spec.labelNames ?? [], registers: [registry] };
    if (spec.type === 'counter') {
      new Counter({
        ...config,
        collect(this: Counter) {
          // prom-client counters only go up; the source's counter is the truth, so it is copied in afresh.
          this.reset();
          apply(spec.read(), (labels, value) => (labels ? this.inc(labels, value) : this.inc(value)));
        },
      });
    } else {
      new Gauge({
        ...config,
        collect(this: Gauge) {
          apply(spec.read(), (labels, value) => (labels ? this.set(labels, value) : this.set(value)));
        },
      });
    }
  }
  return registry;
}

function apply(read: ReturnType<MetricSpec['read']>, set: (labels: Record<string, string> | undefined, value: number) => void): void {
  if (typeof read === 'number') set(undefined, read);
  else for (const [labels, value] of read) set(labels, value);
}
