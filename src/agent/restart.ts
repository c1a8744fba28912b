import { spawn } from 'node:child_process';

export interface RestartResult {
  ok: boolean;
  /** Exit code, or null when the command could not start or was killed. */
  code: number | null;
  /** Last lines of its output, for the log. */
  output: string;
}

/** Runs the operator's restart command through the shell; never throws. */
export function runRestartCommand(command: string): Promise<RestartResult> {
  return new Promise((resolve) => {
    let output = '';
    const keep = (b: Buffer) => (output = (output + b.toString('utf8')).slice(-2_000));
    const child = spawn(command, { shell: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => resolve({ ok: false, code: null, output: err.message }));
    child.on('close', (code) => resolve({ ok: code === 0, code, output: output.trim() }));
  });
}
