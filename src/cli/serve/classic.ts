import { CLASSIC_SERVICES, startClassicService, type ClassicService } from '../../apps/classic-services.js';
import { bindError } from '../../errors.js';
import { usageError } from '../command.js';
import { reportListening, type ServeSettings } from './options.js';

export { CLASSIC_SERVICES };

/** `serve --mode echo|discard|chargen`: runs the service until Ctrl-C or SIGTERM, then prints its totals. */
export async function serveClassic(settings: ServeSettings, service: ClassicService): Promise<number> {
  const { values, path, out, io } = settings;
  if (settings.tls) throw usageError(`Option '--tls' does not apply to --mode ${service}: it is a plain TCP measurement service`);
  if (values.workers > 1) throw usageError(`Option '--workers' does not apply to --mode ${service}: one process serves it`);
  let server;
  try {
    server = await startClassicService({ service, host: values.host, port: values.port, ...(path === undefined ? {} : { path }), maxConnections: values['max-connections'] });
  } catch (err) {
    throw bindError(path ?? `${values.host}:${values.port}`, err);
  }
  const address = server.address;
  reportListening(settings, typeof address === 'string' ? { address, port: 0, family: 'unix' } : { address: address.address, port: address.port, family: address.family === 'IPv6' ? 'IPv6' : 'IPv4' }, service, 1);
  if (!io.signal.aborted) await new Promise((resolve) => io.signal.addEventListener('abort', resolve, { once: true }));
  await server.close();
  out.event('stopped', { totals: { ...server.stats } }, `stopped: ${server.stats.accepted} connections, ${server.stats.bytesIn} bytes in, ${server.stats.bytesOut} bytes out`);
  return 0;
}
