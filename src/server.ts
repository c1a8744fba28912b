/**
 * Process entry: config → dependencies → app → listen; graceful shutdown on SIGTERM/SIGINT.
 * The only file that calls process.exit.
 */
import { ConfigError, configPathFrom, loadConfig } from './config/load.ts';
import { createDeps } from './deps.ts';
import { buildApp } from './app.ts';

async function main() {
  let config;
  try {
    config = loadConfig({ file: configPathFrom(process.argv.slice(2), process.env), env: process.env });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\nThe manager did not start. Fix the keys above in the config file or the SM_* environment variables.\n`);
      process.exit(1);
    }
    throw e;
  }

  const rt = await createDeps(config);
  const app = await buildApp(rt);
  await rt.attach?.(app.server);
  await app.listen({ host: config.server.host, port: config.server.port });
  rt.start();
  rt.log.info(
    { store: rt.store.kind, cloud: rt.cloud.name, port: config.server.port, dataDir: config.server.dataDir },
    'stream manager listening',
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    rt.log.info({ signal }, 'shutting down: no new requests, finishing the ones in flight');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    try {
      await app.close();
      await rt.close();
      process.exit(0);
    } catch (err) {
      rt.log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`The manager could not start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
