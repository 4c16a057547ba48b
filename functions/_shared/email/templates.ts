// E-mail templates: templates/<locale>/<name>.html and <name>.txt, mustache.
// The text file's first line is "Subject: ...". Rendering is strict: a
// placeholder the view does not provide is an error, never an empty hole in a
// sent mail.
import Mustache from "mustache";

export interface Template {
  subject: string;
  html: string;
  text: string;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export type Templates = Map<string, Template>;

export class TemplateError extends Error {
  override name = "TemplateError";
}

export const TEMPLATE_ROOT = new URL("../../../templates/", import.meta.url);

// mustache.js token: [type, value, start, end, children?, ...]
type Token = [string, string, number, number, Token[]?];

function tokens(template: string): Token[] {
  return Mustache.parse(template) as Token[];
}

function parseTextFile(source: string, where: string): { subject: string; text: string } {
  const match = source.match(/^Subject: (.*)\r?\n\r?\n([\s\S]*)$/);
  if (!match) throw new TemplateError(`${where}: must start with "Subject: ..." and a blank line`);
  return { subject: match[1], text: match[2] };
}

export async function loadTemplates(root: URL = TEMPLATE_ROOT): Promise<Templates> {
  const templates: Templates = new Map();
  for await (const dir of Deno.readDir(root)) {
    if (!dir.isDirectory) continue;
    const localeRoot = new URL(`${dir.name}/`, root);
    for await (const file of Deno.readDir(localeRoot)) {
      const m = file.name.match(/^([a-z0-9_]+)\.html$/);
      if (!file.isFile || !m) continue;
      const html = await Deno.readTextFile(new URL(file.name, localeRoot));
      const textPath = new URL(`${m[1]}.txt`, localeRoot);
      const { subject, text } = parseTextFile(
        await Deno.readTextFile(textPath),
        `${dir.name}/${m[1]}.txt`,
      );
      templates.set(`${dir.name}/${m[1]}`, { subject, html, text });
    }
  }
  return templates;
}

// Every variable a template reads, sections included, as dotted paths
// relative to their section ("attendees.name" for {{#attendees}}{{name}}).
export function templateVariables(template: string): Set<string> {
  const names = new Set<string>();
  const walk = (list: Token[], prefix: string) => {
    for (const t of list) {
      const [type, value] = t;
      if (type === "name" || type === "&") names.add(prefix + value);
      if (type === "#" || type === "^") {
        names.add(prefix + value);
        walk(t[4] ?? [], type === "#" ? `${prefix}${value}.` : prefix);
      }
    }
  };
  walk(tokens(template), "");
  return names;
}

function lookup(stack: unknown[], name: string): unknown {
  if (name === ".") return stack[stack.length - 1];
  for (let i = stack.length - 1; i >= 0; i--) {
    let value: unknown = stack[i];
    let found = true;
    for (const part of name.split(".")) {
      if (value !== null && typeof value === "object" && part in (value as object)) {
        value = (value as Record<string, unknown>)[part];
      } else {
        found = false;
        break;
      }
    }
    if (found) return value;
  }
  return undefined;
}

// Placeholders the view does not provide, checked the way mustache resolves
// them (sections push their item onto the context stack).
export function missingVariables(template: string, view: object): string[] {
  const missing = new Set<string>();
  const walk = (list: Token[], stack: unknown[]) => {
    for (const t of list) {
      const [type, name] = t;
      if (type !== "name" && type !== "&" && type !== "#" && type !== "^") continue;
      const value = lookup(stack, name);
      if (value === undefined) {
        missing.add(name);
        continue;
      }
      const children = t[4] ?? [];
      if (type === "#") {
        if (Array.isArray(value)) { for (const item of value) walk(children, [...stack, item]); }
        else if (value) walk(children, [...stack, value]);
      } else if (type === "^" && (!value || (Array.isArray(value) && value.length === 0))) {
        walk(children, stack);
      }
    }
  };
  walk(tokens(template), [view]);
  return [...missing];
}

const noEscape = (s: string) => s;

export function renderEmail(
  templates: Templates,
  locale: string,
  name: string,
  view: object,
): RenderedEmail {
  const template = templates.get(`${locale}/${name}`) ?? templates.get(`en/${name}`);
  if (!template) throw new TemplateError(`no template ${locale}/${name} (nor en/${name})`);
  const missing = [
    ...missingVariables(template.subject, view),
    ...missingVariables(template.html, view),
    ...missingVariables(template.text, view),
  ];
  if (missing.length) {
    throw new TemplateError(
      `${locale}/${name}: no value for ${[...new Set(missing)].join(", ")}`,
    );
  }
  return {
    subject: Mustache.render(template.subject, view, {}, { escape: noEscape }).trim(),
    html: Mustache.render(template.html, view),
    text: Mustache.render(template.text, view, {}, { escape: noEscape }),
  };
}
