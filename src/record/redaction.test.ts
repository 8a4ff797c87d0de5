import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRedactor, isCredentialName, type PiiRule, splitsAtLineFeeds } from './redaction.ts';

const redactor = createRedactor({
  salt: 'pepper',
  rules: [
    { name: 'email', pattern: /[\w.+-]+@[\w-]+\.[\w.]+/g },
    { name: 'phone', field: 'phone' },
  ],
});

describe('redaction', () => {
  it('drops credential headers and keeps the rest', () => {
    const headers = redactor.headers(
      Object.entries({
        Authorization: 'Bearer sk-live-123',
        'x-api-key': 'k',
        'X-Goog-Api-Key': 'g',
        Cookie: 'a=b',
        'content-type': 'application/json',
        'x-stainless-retry-count': '0',
      }),
    );
    expect(headers).toEqual({ 'content-type': 'application/json', 'x-stainless-retry-count': '0' });
  });

  it('applies a rule to the text between existing tokens, where an anchored pattern can match', () => {
    const pins = createRedactor({
      salt: 'pepper',
      rules: [
        { name: 'email', pattern: /[\w.+-]+@[\w-]+\.[\w.]+/g },
        { name: 'pin', pattern: /^\d{4}/ },
      ],
    });
    const once = pins.text('ana@example.com');
    const twice = pins.text(`${once}1234`);
    expect(twice.startsWith(once)).toBe(true);
    expect(twice).toMatch(/\[redacted:pin:[0-9a-f]{12}\]$/);
    expect(pins.text(twice)).toBe(twice);
  });

  it('hides credential query parameters and userinfo in URLs', () => {
    expect(redactor.url('https://u:p@api.example.com/v1/chat?api-key=secret&x=1')).toMatch(
      /^https:\/\/api\.example\.com\/v1\/chat\?api-key=\[redacted:credential:[0-9a-f]{12}\]&x=1$/,
    );
    expect(redactor.url('http://127.0.0.1:1/v1/chat/completions')).toBe('http://127.0.0.1:1/v1/chat/completions');
  });

  it('replaces PII with a salted hash token, the same for the same value', () => {
    const once = redactor.value({ message: 'mail me at ann@example.com or ann@example.com', phone: '+1 555 0100' });
    expect(once.message).not.toContain('ann@example.com');
    const tokens = once.message.match(/\[redacted:email:[0-9a-f]{12}\]/g);
    expect(tokens).toHaveLength(2);
    expect(tokens?.[0]).toBe(tokens?.[1]);
    expect(once.phone).toMatch(/^\[redacted:phone:[0-9a-f]{12}\]$/);
  });

  it('is idempotent', () => {
    const once = redactor.value({ message: 'ann@example.com', phone: '555', nested: [{ phone: 1 }] });
    expect(redactor.value(once)).toEqual(once);
    expect(redactor.text(redactor.text('x bob@example.org y'))).toBe(redactor.text('x bob@example.org y'));
  });

  it('depends on the salt, so tokens cannot be matched across installations', () => {
    const other = createRedactor({ salt: 'other', rules: [{ name: 'email', pattern: /[\w.+-]+@[\w-]+\.[\w.]+/g }] });
    expect(other.text('ann@example.com')).not.toBe(redactor.text('ann@example.com'));
  });

  it('knows a credential by any name that suggests one, in any case and with any separator', () => {
    for (const name of [
      'X-Goog-Api-Key',
      'api_key',
      'apikey',
      'client-secret',
      'X_AUTH_TOKEN',
      'sessionid',
      'accessToken',
      'authorization',
      'Proxy-Authorization',
      'set-cookie',
      'X-Amz-Signature',
      'sig',
      'passwd',
      'pwd',
      'x-csrf-token',
      'key',
    ])
      expect(isCredentialName(name), name).toBe(true);
    for (const name of [
      'max_tokens',
      'x-ratelimit-remaining-tokens',
      'Idempotency-Key',
      'content-type',
      'author',
      'keyword',
      'q',
      'sort',
      'openai-organization',
    ])
      expect(isCredentialName(name), name).toBe(false);
  });

  it('with no rule at all, hides credential query values, userinfo and key-shaped values, the same token for the same value', () => {
    const plain = createRedactor({ salt: 'pepper' });
    const url = plain.url('https://bob:hunter2@api.example.com/v1?X_AUTH_TOKEN=t0k&sessionid=s1&max_tokens=5&q=x');
    expect(url).not.toMatch(/bob|hunter2|t0k|s1/);
    expect(url).toContain('max_tokens=5&q=x');
    const message = plain.text('Request cannot be constructed from a URL that includes credentials: https://bob:hunter2@internal.example.com/x');
    expect(message).toBe('Request cannot be constructed from a URL that includes credentials: https://internal.example.com/x');
    const keys = {
      openai: 'sk-proj-abcdefghijklmnopqrstuvwxyz0123',
      anthropic: 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz',
      github: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
      pat: 'github_pat_11ABCDEFG0123456789_abcdefghijklmnop',
      slack: 'xoxb-123456789012-abcdefghij',
      aws: 'AKIAIOSFODNN7EXAMPLE',
      google: 'AIzaSyA1234567890abcdefghijklmnopqrstu',
      jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
    };
    for (const [name, key] of Object.entries(keys)) {
      const once = plain.text(`the ${name} key is ${key}, again ${key}.`);
      expect(once, name).not.toContain(key);
      const tokens = once.match(/\[redacted:[a-z-]+:[0-9a-f]{12}\]/g);
      expect(tokens, name).toHaveLength(2);
      expect(tokens?.[0]).toBe(tokens?.[1]);
      expect(plain.text(once)).toBe(once);
    }
    expect(plain.text('Authorization: Bearer abc.def.ghi123456789')).toMatch(/^Authorization: Bearer \[redacted:bearer:[0-9a-f]{12}\]$/);
    expect(plain.text('dsn host=db password=hunter2 user=me')).toMatch(/^dsn host=db password=\[redacted:credential:[0-9a-f]{12}\] user=me$/);
  });

  it('leaves ordinary words and model parameters alone', () => {
    const plain = createRedactor({ salt: 'pepper' });
    const prose =
      'a task-list, risk-free skeleton keys; AKIA and eyJ alone; sk-short; Basic information; the bearer of news; max_tokens=5; token=get_token(); see https://example.com/a?q=1';
    expect(plain.text(prose)).toBe(prose);
    const body = { model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: prose }] };
    expect(plain.value(body)).toBe(body);
  });

  it('applies PII rules to URL path segments and query values, decoded', () => {
    const url = redactor.url('https://api.example.com/users/ann%40example.com/orders?email=ann%40example.com&page=2');
    expect(url).not.toMatch(/ann/);
    expect(url).toMatch(/^https:\/\/api\.example\.com\/users\/\[redacted:email:([0-9a-f]{12})\]\/orders\?email=\[redacted:email:\1\]&page=2$/);
    expect(redactor.url(url)).toBe(url);
  });

  it('keeps the shape: __proto__ and constructor as data, key order, arrays', () => {
    const received = JSON.parse('{"z":1,"__proto__":{"mail":"ann@example.com"},"constructor":["ann@example.com",{"phone":"555"}],"a":""}');
    const redacted = redactor.value(received);
    expect(Object.keys(redacted)).toEqual(['z', '__proto__', 'constructor', 'a']);
    expect(Object.getPrototypeOf(redacted)).toBe(Object.prototype);
    expect(Object.hasOwn(redacted, '__proto__')).toBe(true);
    expect(JSON.stringify(redacted)).toMatch(
      /^\{"z":1,"__proto__":\{"mail":"\[redacted:email:[0-9a-f]{12}\]"\},"constructor":\["\[redacted:email:[0-9a-f]{12}\]",\{"phone":"\[redacted:phone:[0-9a-f]{12}\]"\}\],"a":""\}$/,
    );
    expect(Array.isArray(redacted.constructor)).toBe(true);
  });

  it('a field rule over an object or array redacts its leaves and keeps its shape', () => {
    const redacted = redactor.value({ phone: { home: '555', numbers: [5550100, null, true], none: null } });
    expect(JSON.stringify(redacted)).toMatch(
      /^\{"phone":\{"home":"\[redacted:phone:[0-9a-f]{12}\]","numbers":\["\[redacted:phone:[0-9a-f]{12}\]",null,"\[redacted:phone:[0-9a-f]{12}\]"\],"none":null\}\}$/,
    );
    expect(redactor.value(redacted)).toBe(redacted);
  });

  it('is idempotent and deterministic on texts that mix secrets, URLs, PII and noise (fast-check)', () => {
    const piece = fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.constantFrom(
        ' ',
        '/',
        '?',
        '&',
        '=',
        '@',
        ':',
        '"',
        '%40',
        '[redacted:',
        ']',
        'https://',
        'u:p@',
        'token=',
        'password=',
        'Bearer ',
        'sk-',
        'eyJ',
        '.',
      ),
      fc.stringMatching(/^[A-Za-z0-9]{20,30}$/).map((body) => `sk-proj-${body}`),
      fc.stringMatching(/^[a-z]{1,4}@[a-z]{1,4}\.[a-z]{2}$/),
      fc.stringMatching(/^[a-z]{1,5}$/).map((name) => `https://${name}:pw@h.test/${name}%40x.io?sessionid=${name}&q=${name}@a.bc#access_token=${name}`),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const input = pieces.join('');
        const once = redactor.text(input);
        expect(redactor.text(once)).toBe(once);
        expect(redactor.url(redactor.url(input))).toBe(redactor.url(input));
        expect(
          createRedactor({
            salt: 'pepper',
            rules: [
              { name: 'email', pattern: /[\w.+-]+@[\w-]+\.[\w.]+/g },
              { name: 'phone', field: 'phone' },
            ],
          }).text(input),
        ).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });

  it('stays idempotent when a key-shaped parameter name became a token (fast-check counterexample)', () => {
    const input = 'https://a:pw@h.test/a%40x.io?sessionid=a&q=a@a.bc#access_token=a&sk-proj-0aAaA0AAAA0AaaAa0000= ';
    expect(redactor.url(redactor.url(input))).toBe(redactor.url(input));
    expect(redactor.text(redactor.text(input))).toBe(redactor.text(input));
  });

  it('redacts a large owned copy in slices to what value() gives, __proto__ and field rules included', async () => {
    const text = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('a@b.io', 'sk-proj-AAAAAAAAAAAAAAAAAAAAAAAA', 'https://u:pw@h.test/?token=x'));
    const json = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        text,
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(fc.constantFrom('phone', '__proto__', 'name', 'x'), tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    await fc.assert(
      fc.asyncProperty(json, async (value) => {
        const owned = JSON.parse(JSON.stringify(value));
        const expected = JSON.stringify(redactor.value(JSON.parse(JSON.stringify(value))));
        expect(JSON.stringify(await redactor.ownedValueInSlices(owned))).toBe(expected);
      }),
      { numRuns: 500 },
    );
    // A large value yields: other work runs while it is redacted.
    const large = { items: Array.from({ length: 200_000 }, (_, index) => ({ email: `user${index}@mail.test`, note: 'x'.repeat(40) })) };
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 0);
    const redacted = await redactor.ownedValueInSlices(large);
    clearInterval(ticker);
    expect(ticks).toBeGreaterThan(0);
    expect(redacted.items[199_999]?.email).toMatch(/^\[redacted:email:[0-9a-f]{12}\]$/);
  });
});

describe('long texts redacted in chunks', () => {
  /** Pieces that make redaction patterns, and separators, so matches land on and around the cuts. */
  const piece = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('\n', '\n', ' ', '\t', '\r\n', '\n\n', '  \n ', '"', '{', '[', '=', '/', '-') },
    {
      weight: 10,
      arbitrary: fc.constantFrom(
        'https://user:pw@h.test/p/a@b.io?token=abc&x=1',
        'see http://api.test/v1?q=sk-proj-AAAAAAAAAAAAAAAAAAAAAAAA#frag',
        'sk-proj-AAAAAAAAAAAAAAAAAAAAAAAA',
        'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
        'AKIAABCDEFGHIJKLMNOP',
        'eyJhbGciOiJIUzI1.eyJzdWIiOiIx.sig',
        'Bearer',
        'bearer',
        'Authorization: Bearer ',
        'abc123def456ghi789',
        'a@b.io',
        'user.name+tag@mail-x.test',
        '+1 555 123 4567',
        'password=hunter2',
        'api_key=xyz',
        '-----BEGIN RSA PRIVATE KEY-----',
        '-----END RSA PRIVATE KEY-----',
        'MIIBOgIBAAJBAK',
        '[redacted:email:0123456789ab]',
        'ord-1234',
        'zzz',
        '7',
      ),
    },
    { weight: 4, arbitrary: fc.string({ maxLength: 6 }) },
  );
  const text = fc.array(piece, { maxLength: 60 }).map((pieces) => pieces.join(''));
  const ruleSets = [
    [],
    [
      { name: 'email', pattern: /[\w.+-]+@[\w-]+\.[\w.]+/g },
      { name: 'phone', pattern: /\+?\d[\d -]{7,}\d/g },
      { name: 'phone', field: 'phone' },
    ],
    [{ name: 'order', pattern: /^ord-\d+$/gm }],
    // Matches the empty string everywhere: an empty match hides nothing.
    [{ name: 'zeds', pattern: /z*/g }],
    // May match across a line feed: long texts are then redacted in one piece.
    [{ name: 'spaced', pattern: /\d\s+\d/g }],
  ];

  it('give what text() gives in one piece, whatever falls on the cuts (generated texts with URLs, keys, bearer tokens, private keys, e-mails)', async () => {
    await fc.assert(
      fc.asyncProperty(text, fc.integer({ min: 1, max: 48 }), fc.constantFrom(0, 1, 2, 3, 4), async (input, chunkChars, ruleSet) => {
        const rules = ruleSets[ruleSet] as PiiRule[];
        const chunked = createRedactor({ salt: 'pepper', rules }, { chunkChars });
        const whole = createRedactor({ salt: 'pepper', rules });
        expect(await chunked.textInSlices(input)).toBe(whole.text(input));
      }),
      { numRuns: 3000 },
    );
  });

  it('are not cut when field rules are set and the text may be JSON: its members are redacted as a whole', async () => {
    const rules: PiiRule[] = [{ name: 'phone', field: 'phone' }];
    const json = JSON.stringify({ phone: '555 123 4567', note: 'line\n'.repeat(50), more: Array.from({ length: 30 }, (_, index) => index) }, null, 1);
    const whole = createRedactor({ salt: 'pepper', rules }).text(json);
    expect(whole).toContain('"phone":"[redacted:phone:');
    expect(await createRedactor({ salt: 'pepper', rules }, { chunkChars: 16 }).textInSlices(json)).toBe(whole);
  });

  it('are cut at all: a long log of URL lines is redacted yielding to other work', async () => {
    const line = (index: number) => `GET https://user:pw@api.test/orders/${index}?token=t${index}&page=2 200 user${index}@mail.test\n`;
    const log = Array.from({ length: 200_000 }, (_, index) => line(index)).join('');
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 0);
    const redacted = await redactor.textInSlices(log);
    clearInterval(ticker);
    expect(ticks).toBeGreaterThan(0);
    expect(redacted.split('\n')[7]).toMatch(
      /^GET https:\/\/api\.test\/orders\/7\?token=\[redacted:credential:[0-9a-f]{12}\]&page=2 200 \[redacted:email:[0-9a-f]{12}\]$/,
    );
  });

  it('are not cut where a user pattern might match across a line feed', () => {
    for (const pattern of [/\s+\d{4}/g, /[^@]+@x/g, /a.b/gs, /[\0-\x7f]+/g, /\p{L}+/gu, /^\d+/g, /a\nb/g, /x/y, /\D{3}/g, /[\t-\r]/g])
      expect(splitsAtLineFeeds(pattern, 'rule')).toBe(false);
    for (const pattern of [/[\w.+-]+@[\w-]+\.[\w.]+/g, /\+?\d[\d -]{7,}\d/g, /\b\d{3}-\d{2}-\d{4}\b/g, /^ord-\d+$/gm, /(?<=id:)\S+/g, /(a)\1/g])
      expect(splitsAtLineFeeds(pattern, 'rule')).toBe(true);
    expect(splitsAtLineFeeds(/x/g, 'a rule')).toBe(false);
  });
});
