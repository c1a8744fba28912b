import { cpus, loadavg } from 'node:os';
import { systemClock } from '../lib/clock.ts';
import { createLogger } from '../lib/logger.ts';
import { AGENT_HELP, AgentOptionsError, parseAgentOptions } from './options.ts';
import { createServerApi } from './server-api.ts';
import { createManagerClient } from './manager-client.ts';
import { runRestartCommand } from './restart.ts';
import { AgentStartError, createNodeAgent } from './agent.ts';

/**
 * `npm run agent -- --manager <url> --password <pw> --host <addr> --api-token <token> ...`: the node agent
 * for a real Red5 Pro server (README "Real Red5 Pro nodes"). Exit 2: bad settings; exit 1: cannot start.
 */
async function main() {
  let options;
  try {
    options = parseAgentOptions(process.argv.slice(2), process.env);
  } catch (e) {
    if (!(e instanceof AgentOptionsError)) throw e;
    process.stderr.write(`agent: ${e.message}\n\n${AGENT_HELP}`);
    process.exit(2);
  }
  if (!options) {
    process.stdout.write(AGENT_HELP);
    return;
  }
  const log = createLogger(options.logLevel);
  const serverApi = createServerApi({ base: options.red5, accessToken: options.apiToken });
  const manager = createManagerClient({ url: options.manager, password: options.password, localAddress: options.localAddress });
  const agent = createNodeAgent({
    options,
    clock: systemClock,
    log,
    serverApi,
    manager,
    restart: runRestartCommand,
    osLoad: () => ({ loadavg1: loadavg()[0], cpus: cpus().length }),
  });
  const shutdown = () => {
    agent.stop();
    void Promise.all([serverApi.close(), manager.close()]).finally(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  try {
    await agent.start();
  } catch (e) {
    if (!(e instanceof AgentStartError)) throw e;
    process.stderr.write(`agent: ${e.message}\n`);
    process.exit(1);
  }
  // systemClock timers are unref'd: keep the process alive until a signal.
  setInterval(() => undefined, 1 << 30);
}

void main();
