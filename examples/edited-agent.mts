// The demo's support agent (src/demo/support-agent.ts) after a small edit: the knowledge-base
// search now gets the ticket text with " Thanks." appended. Replaying a recorded run with it
// stops at the first call that changed:
//
//   npx retrial replay <run> --agent examples/edited-agent.mts
//
import OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import type { Account, AccountSystem } from '../src/demo/account-system.ts';
import { createDemoAccountsNow } from '../src/demo/demo-now.ts';
import { PROMPT_VERSION, renderSupportPolicy, searchKnowledgeBase } from '../src/demo/support-policy.ts';
import { defineAgent } from '../src/record/index.ts';

export interface SupportTicket {
  ticketId: string;
  customerId: string;
  /** The form the customer picked: decides which decision type the ticket produces. */
  category: 'refund' | 'account' | 'general';
  /** Chat tickets stream the model's answers; email tickets do not. */
  channel: 'chat' | 'email';
  message: string;
}

export interface SupportOutcome {
  reply: string;
  actions: string[];
}

export const SUPPORT_MODEL = 'support-sim';

const TOOLS: ChatCompletionTool[] = [
  tool('lookup_account', 'Look up a customer account by id.', { customer_id: { type: 'string' } }),
  tool('set_grace_period', 'Give the customer a grace period on payment.', { customer_id: { type: 'string' }, days: { type: 'integer' } }),
  tool('close_account', 'Close the account permanently. Irreversible.', { customer_id: { type: 'string' }, reason: { type: 'string' } }),
  tool('issue_refund', 'Refund money to the customer.', { customer_id: { type: 'string' }, amount: { type: 'number' }, reason: { type: 'string' } }),
  tool('deny_refund', 'Decline a refund request with a reason.', { customer_id: { type: 'string' }, reason: { type: 'string' } }),
  tool('escalate_to_human', 'Hand the ticket to a person in tier 2.', { customer_id: { type: 'string' }, summary: { type: 'string' } }),
];

function tool(name: string, description: string, properties: Record<string, unknown>): ChatCompletionTool {
  return { type: 'function', function: { name, description, parameters: { type: 'object', properties, required: Object.keys(properties) } } };
}

const DECISION_OF_TOOL: Record<string, { type: 'refund.category' | 'account.action'; value: string; reversible: boolean } | undefined> = {
  issue_refund: { type: 'refund.category', value: 'approve', reversible: false },
  deny_refund: { type: 'refund.category', value: 'deny', reversible: true },
  set_grace_period: { type: 'account.action', value: 'grace_period', reversible: true },
  close_account: { type: 'account.action', value: 'close', reversible: false },
};

/** Email addresses in ticket text are PII. */
export const SUPPORT_PII_RULES = [{ name: 'email', pattern: /[\w.+-]+@[\w-]+\.[\w.]+/g }];

export default defineAgent<SupportTicket, SupportOutcome, AccountSystem>({
  name: 'support-agent',
  codeVersion: 'demo-1.0.0',
  piiRules: SUPPORT_PII_RULES,
  create({ rec, env, services }) {
    // Without a world from the host, the tools act on the demo world as it is today (built on first use).
    let today: AccountSystem | undefined;
    const world = () => {
      if (services) return services;
      today ??= createDemoAccountsNow();
      return today;
    };
    const accounts: AccountSystem = new Proxy({} as AccountSystem, { get: (_target, property) => Reflect.get(world(), property) });
    const openai = new OpenAI({
      apiKey: env.RETRIAL_SIM_API_KEY ?? 'sk-sim-demo-key',
      baseURL: env.RETRIAL_MODEL_BASE_URL ?? 'http://127.0.0.1:8788/v1',
      fetch: rec.fetch,
      maxRetries: 0,
    });
    const tools: Record<string, (args: Record<string, unknown>) => Promise<unknown>> = {
      lookup_account: rec.tool('lookup_account', (args: Record<string, unknown>) => accounts.lookup(String(args.customer_id)), { effect: 'read' }),
      set_grace_period: rec.tool('set_grace_period', (args: Record<string, unknown>) =>
        accounts.setGracePeriod(String(args.customer_id), Number(args.days ?? 30)),
      ),
      close_account: rec.tool('close_account', (args: Record<string, unknown>) => accounts.closeAccount(String(args.customer_id), String(args.reason ?? ''))),
      issue_refund: rec.tool('issue_refund', (args: Record<string, unknown>) =>
        accounts.issueRefund(String(args.customer_id), Number(args.amount ?? 0), String(args.reason ?? '')),
      ),
      deny_refund: rec.tool('deny_refund', (args: Record<string, unknown>) => accounts.denyRefund(String(args.customer_id), String(args.reason ?? ''))),
      escalate_to_human: rec.tool('escalate_to_human', (args: Record<string, unknown>) =>
        accounts.escalate(String(args.customer_id), String(args.summary ?? '')),
      ),
    };
    const searchPolicies = rec.retrieval('policy-kb', (query: string) => searchKnowledgeBase(query));

    async function complete(messages: ChatCompletionMessageParam[], stream: boolean): Promise<ChatCompletion> {
      const request = { model: SUPPORT_MODEL, messages, tools: TOOLS, temperature: 0 };
      if (!stream) return openai.chat.completions.create(request);
      return openai.chat.completions.stream({ ...request, stream_options: { include_usage: true } }).finalChatCompletion();
    }

    return async function handleTicket(ticket: SupportTicket): Promise<SupportOutcome> {
      rec.config({ promptVersion: PROMPT_VERSION, flags: { allowAccountClosure: true, graceDays: 30, kbSnippets: 2 } });
      const today = new Date();
      // The edit: a courtesy suffix on the search text.
      const snippets = await searchPolicies(`${ticket.message} Thanks.`);
      const messages: ChatCompletionMessageParam[] = [
        { role: 'system', content: renderSupportPolicy(today) },
        ...(snippets.length ? [{ role: 'system' as const, content: `Relevant policy:\n${snippets.map((snippet) => `- ${snippet.text}`).join('\n')}` }] : []),
        { role: 'user', content: `Ticket ${ticket.ticketId} from customer ${ticket.customerId}: ${ticket.message}` },
      ];
      const actions: string[] = [];
      let account: Account | undefined;
      for (let turn = 0; turn < 5; turn++) {
        const completion = await complete(messages, ticket.channel === 'chat');
        const message = completion.choices[0]?.message;
        if (!message) throw new Error('the model returned no choices');
        messages.push(message as ChatCompletionMessageParam);
        const calls = (message.tool_calls ?? []).filter((call) => call.type === 'function');
        if (calls.length === 0) return { reply: message.content ?? '', actions };
        for (const call of calls) {
          const name = call.function.name;
          const args = JSON.parse(call.function.arguments || '{}') as Record<string, unknown>;
          const run = tools[name];
          const result = run ? await run(args) : { error: `unknown tool ${name}` };
          if (name === 'lookup_account' && result && !('error' in (result as object))) account = result as Account;
          else if (run) actions.push(name);
          recordDecision(name, args, ticket, account);
          messages.push({ role: 'tool', tool_call_id: call.id, content: JSON.stringify(result) });
        }
      }
      return { reply: '', actions };
    };

    function recordDecision(toolName: string, args: Record<string, unknown>, ticket: SupportTicket, account: Account | undefined): void {
      const attributes = { plan: account?.plan ?? 'unknown', channel: ticket.channel, ticket: ticket.ticketId };
      const atStake = account?.last_charge.amount ?? null;
      if (toolName === 'escalate_to_human') {
        const type = ticket.category === 'refund' ? 'refund.category' : 'account.action';
        rec.decide({
          type,
          subject: ticket.customerId,
          value: 'escalate',
          amount: type === 'refund.category' ? atStake : (account?.balance_due ?? null),
          currency: 'USD',
          reversible: true,
          attributes,
        });
        return;
      }
      const decision = DECISION_OF_TOOL[toolName];
      if (!decision) return;
      const amount =
        decision.type === 'refund.category' ? (toolName === 'issue_refund' ? Number(args.amount ?? atStake ?? 0) : atStake) : (account?.balance_due ?? null);
      rec.decide({ ...decision, subject: ticket.customerId, amount, currency: 'USD', attributes });
    }
  },
});
