// The Studio's chat call as code: the same request in Python and JavaScript (the official openai SDKs)
// and curl, against this gateway, with a placeholder for the key (never the Studio's own).

export interface ChatCall {
  model: string;
  messages: { role: string; content: string }[];
  params: Record<string, number>;     // temperature, max_tokens, top_p: only those the user set
}

export type Language = 'python' | 'javascript' | 'curl';

export function snippet(language: Language, call: ChatCall, baseUrl: string): string {
  return { python, javascript, curl }[language](call, baseUrl);
}

const quote = (text: string) => JSON.stringify(text);

function python({ model, messages, params }: ChatCall, baseUrl: string): string {
  return [
    'import os',
    '',
    'from openai import OpenAI',
    '',
    `client = OpenAI(base_url=${quote(baseUrl)}, api_key=os.environ["ALLTOKEN_API_KEY"])`,
    'stream = client.chat.completions.create(',
    `    model=${quote(model)},`,
    '    messages=[',
    ...messages.map((message) => `        ${JSON.stringify(message)},`),
    '    ],',
    ...Object.entries(params).map(([name, value]) => `    ${name}=${value},`),
    '    stream=True,',
    '    stream_options={"include_usage": True},',
    ')',
    'for chunk in stream:',
    '    if chunk.choices:',
    '        print(chunk.choices[0].delta.content or "", end="", flush=True)',
    '    elif chunk.usage:',
    '        print("\\n", chunk.usage.prompt_tokens, "in,", chunk.usage.completion_tokens, "out, USD", chunk.usage.cost)',
  ].join('\n');
}

function javascript({ model, messages, params }: ChatCall, baseUrl: string): string {
  return [
    "import OpenAI from 'openai';",
    '',
    `const client = new OpenAI({ baseURL: ${quote(baseUrl)}, apiKey: process.env.ALLTOKEN_API_KEY });`,
    'const stream = await client.chat.completions.create({',
    `  model: ${quote(model)},`,
    '  messages: [',
    ...messages.map((message) => `    { role: ${quote(message.role)}, content: ${quote(message.content)} },`),
    '  ],',
    ...Object.entries(params).map(([name, value]) => `  ${name}: ${value},`),
    '  stream: true,',
    '  stream_options: { include_usage: true },',
    '});',
    'for await (const chunk of stream) {',
    "  if (chunk.choices.length) process.stdout.write(chunk.choices[0].delta.content ?? '');",
    "  else if (chunk.usage) console.log('\\n', chunk.usage.prompt_tokens, 'in,', chunk.usage.completion_tokens, "
      + "'out, USD', chunk.usage.cost);",
    '}',
  ].join('\n');
}

function curl({ model, messages, params }: ChatCall, baseUrl: string): string {
  const body = JSON.stringify({ model, messages, ...params, stream: true, stream_options: { include_usage: true } },
    null, 2);
  return [
    `curl -sN ${baseUrl}/chat/completions \\`,
    '  -H "Authorization: Bearer $ALLTOKEN_API_KEY" \\',
    '  -H "Content-Type: application/json" \\',
    `  -d '${body.replace(/'/g, "'\\''")}'`,
  ].join('\n');
}
