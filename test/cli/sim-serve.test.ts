import { spawn } from 'node:child_process';
import { join } from 'node:path';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';

describe('retrial sim serve', () => {
  it('serves the simulator over HTTP to the real openai client until stopped', async () => {
    const child = spawn(
      process.execPath,
      [join(process.cwd(), 'bin', 'retrial.js'), 'sim', 'serve', '--port', '0', '--alias', 'support-sim=support-sim-2026-04-01'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const url = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stdout.on('data', (chunk) => {
        text += chunk;
        const match = /listening on (http:\/\/[\d.:]+)/.exec(text);
        if (match) resolve(match[1] as string);
      });
      child.on('exit', (code) => reject(new Error(`sim serve exited (${code})`)));
    });
    try {
      const client = new OpenAI({ apiKey: 'sk-sim', baseURL: `${url}/v1`, maxRetries: 0 });
      const completion = await client.chat.completions.create({
        model: 'support-sim',
        temperature: 0,
        messages: [{ role: 'user', content: 'Customer C-1 asks why the bill went up.' }],
      });
      expect(completion.model).toBe('support-sim-2026-04-01');
      expect(completion.system_fingerprint).toMatch(/^fp_sim_/);
      // The Responses API too, JSON and streamed.
      const response = await client.responses.create({ model: 'support-sim', temperature: 0, input: 'Customer C-1 asks why the bill went up.' });
      expect(response.model).toBe('support-sim-2026-04-01');
      expect(response.output_text).not.toBe('');
      const streamed = await client.responses
        .stream({ model: 'support-sim', temperature: 0, input: 'Customer C-1 asks why the bill went up.' })
        .finalResponse();
      expect(streamed.status).toBe('completed');
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
  });
});
