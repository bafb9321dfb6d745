// Full-text matching close to the services' (websearch syntax, no stemming, the last plain word also as a
// prefix), with a snippet of the best-matching message (else of title, tags, description), matches in <b>...</b>.
import type { ChatRecord } from "./state.js";

interface Query {
  words: string[];
  phrases: string[];
  excluded: string[];
  /** The last plain word, also matched as a prefix. */
  prefix: string | undefined;
}

const WORD = /[\p{L}\p{N}_]+/gu;

function tokens(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

export function parseQuery(text: string): Query {
  const query: Query = { words: [], phrases: [], excluded: [], prefix: undefined };
  const parts = text.match(/-?"[^"]*"|\S+/g) ?? [];
  for (const part of parts) {
    if (part.toLowerCase() === "or") {
      continue; // alternatives are matched as "all words" here: a narrower, never wider, result
    }
    const negated = part.startsWith("-");
    const body = negated ? part.slice(1) : part;
    if (body.startsWith('"')) {
      const phrase = tokens(body).join(" ");
      if (phrase) {
        (negated ? query.excluded : query.phrases).push(phrase);
      }
      continue;
    }
    for (const word of tokens(body)) {
      (negated ? query.excluded : query.words).push(word);
    }
  }
  const last = parts[parts.length - 1];
  if (last && !last.startsWith("-") && !last.startsWith('"')) {
    query.prefix = query.words.pop();
  }
  return query;
}

function hits(text: string, query: Query): number {
  const words = tokens(text);
  const joined = words.join(" ");
  let score = 0;
  for (const word of query.words) {
    score += words.filter((w) => w === word).length;
  }
  for (const phrase of query.phrases) {
    score += joined.includes(phrase) ? 2 : 0;
  }
  if (query.prefix) {
    const prefix = query.prefix;
    score += words.filter((w) => w.startsWith(prefix)).length;
  }
  return score;
}

function chatTexts(chat: ChatRecord): string[] {
  const messages = chat.messages.map((m) => m.parts.map((p) => (p.kind.case === "text" ? p.kind.value.text : p.kind.case === "code" ? p.kind.value.content : "")).join("\n"));
  return [chat.title, chat.description, chat.tags.join(" "), ...messages];
}

/** Rank of the chat for the query (0 = no match): every word, phrase and the prefix must occur somewhere. */
export function rank(chat: ChatRecord, query: Query): number {
  const all = tokens(chatTexts(chat).join("\n"));
  const joined = all.join(" ");
  const has = (word: string): boolean => all.includes(word);
  if (!query.words.every(has) || !query.phrases.every((p) => joined.includes(p))) {
    return 0;
  }
  if (query.prefix && !all.some((w) => w.startsWith(query.prefix ?? ""))) {
    return 0;
  }
  if (query.excluded.some((e) => (e.includes(" ") ? joined.includes(e) : has(e)))) {
    return 0;
  }
  if (query.words.length === 0 && query.phrases.length === 0 && !query.prefix) {
    return 0;
  }
  return chatTexts(chat).reduce((sum, text) => sum + hits(text, query), 0);
}

/** The best-matching message's text (else the title, tags and description) with the matches in <b>...</b>. */
export function snippet(chat: ChatRecord, query: Query): string {
  const messages = chatTexts(chat).slice(3);
  let best = "";
  let bestHits = 0;
  for (const text of messages) {
    const score = hits(text, query);
    if (score > bestHits) {
      best = text;
      bestHits = score;
    }
  }
  const text = bestHits > 0 ? best : [chat.title, chat.tags.join(" "), chat.description].filter(Boolean).join(" ");
  const terms = [...query.words, ...query.phrases.flatMap((p) => p.split(" "))];
  return text.replace(WORD, (word) => {
    const lower = word.toLowerCase();
    const matched = terms.includes(lower) || (query.prefix !== undefined && lower.startsWith(query.prefix));
    return matched ? `<b>${word}</b>` : word;
  });
}
