// Drives generation on `quanta serve` with the npm clients, unchanged: the `ollama` package and the `openai` package.
// Usage: node generate-clients.mjs BASE_URL
// Expects the models "tiny" (the trained tiny Llama) and "tools" (the same with a tools template) in the store.
// Prints one JSON object with what the clients returned; the C# test (NodeClientTests) checks the values.
import { Ollama } from 'ollama';
import OpenAI from 'openai';

const [base] = process.argv.slice(2);
const ollama = new Ollama({ host: base });
const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused' });
const greedy = { temperature: 0, num_predict: 16 };
const result = {};

const generated = await ollama.generate({ model: 'tiny', prompt: 'The package', options: greedy });
result.generate = { response: generated.response, done_reason: generated.done_reason, eval_count: generated.eval_count, context: generated.context.length };

let streamed = '';
let last;
for await (const part of await ollama.generate({ model: 'tiny', prompt: 'The package', options: greedy, stream: true })) {
  streamed += part.response;
  last = part;
}
result.generateStream = { response: streamed, done: last.done, done_reason: last.done_reason };

let chatted = '';
for await (const part of await ollama.chat({ model: 'tiny', messages: [{ role: 'user', content: 'The package' }], options: greedy, stream: true })) {
  chatted += part.message.content;
}
result.chatStream = chatted;

const called = await ollama.chat({
  model: 'tools',
  messages: [{ role: 'user', content: 'Weather in Paris?' }],
  tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }],
  format: { type: 'object', properties: { name: { enum: ['get_weather'] }, arguments: { type: 'object', properties: { city: { enum: ['Paris'] } }, required: ['city'] } }, required: ['name', 'arguments'] },
  options: { temperature: 0, num_predict: 400 },
});
result.toolCalls = called.message.tool_calls;

const completion = await openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'The package' }], temperature: 0, max_tokens: 16 });
result.openaiChat = { content: completion.choices[0].message.content, finish_reason: completion.choices[0].finish_reason, usage: completion.usage, object: completion.object };

let openaiStreamed = '';
let usage;
let finish;
for await (const chunk of await openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'The package' }], temperature: 0, max_tokens: 16, stream: true, stream_options: { include_usage: true } })) {
  if (chunk.choices.length > 0) {
    openaiStreamed += chunk.choices[0].delta.content ?? '';
    finish = chunk.choices[0].finish_reason ?? finish;
  }
  usage = chunk.usage ?? usage;
}
result.openaiChatStream = { content: openaiStreamed, finish_reason: finish, usage };

const text = await openai.completions.create({ model: 'tiny', prompt: 'The package', temperature: 0, max_tokens: 16 });
result.openaiCompletion = { text: text.choices[0].text, finish_reason: text.choices[0].finish_reason, object: text.object };

let textStreamed = '';
for await (const chunk of await openai.completions.create({ model: 'tiny', prompt: 'The package', temperature: 0, max_tokens: 16, stream: true, stop: ['dpkg'] })) {
  textStreamed += chunk.choices[0]?.text ?? '';
}
result.openaiCompletionStream = textStreamed;

try {
  await ollama.chat({ model: 'nope', messages: [{ role: 'user', content: 'x' }] });
  result.missing = 'no error';
} catch (e) {
  result.missing = { name: e.name, status: e.status_code, error: e.error };
}
try {
  await openai.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] });
  result.openaiMissing = 'no error';
} catch (e) {
  result.openaiMissing = { status: e.status, type: e.error?.type, message: e.error?.message };
}

console.log(JSON.stringify(result));
