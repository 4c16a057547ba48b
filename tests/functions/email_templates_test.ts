// Every template renders with sample data in every locale, leaves no
// placeholder unresolved, and its text version carries every variable the
// HTML version shows; times appear in the recipient's zone and language.
import {
  loadTemplates,
  missingVariables,
  renderEmail,
  templateVariables,
} from "../../functions/_shared/email/templates.ts";
import { buildView, templateName } from "../../functions/_shared/email/view.ts";
import { KINDS, sample } from "./_email_samples.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

const templates = await loadTemplates();
const NOW = new Date("2027-03-15T13:00:00Z");
const LOCALES = ["en", "de"];
const NAMES = [
  "confirmation",
  "update",
  "reschedule",
  "cancellation",
  "reminder",
  "series_conflict",
  "calendar_sync_failed",
];

Deno.test("every template exists for every locale", () => {
  for (const locale of LOCALES) {
    for (const name of NAMES) {
      assert(templates.has(`${locale}/${name}`), `templates/${locale}/${name}.{html,txt} missing`);
    }
  }
  assert(
    templates.size === LOCALES.length * NAMES.length,
    `unexpected templates: ${[...templates.keys()]}`,
  );
});

Deno.test("the text version carries every variable the HTML version shows", () => {
  for (const [key, t] of templates) {
    const text = new Set([...templateVariables(t.text), ...templateVariables(t.subject)]);
    const missing = [...templateVariables(t.html)].filter((v) => !text.has(v));
    assert(missing.length === 0, `${key}: in HTML but not in text: ${missing.join(", ")}`);
  }
});

Deno.test("every template renders with sample data, nothing left unresolved", () => {
  const variants = [
    {},
    { allDay: true },
    { role: "organizer" as const },
    { role: "removed" as const, status: "confirmed" as const },
  ];
  for (const locale of LOCALES) {
    for (const kind of KINDS) {
      for (const v of variants) {
        const data = sample(kind, { locale, ...v });
        const view = buildView(data, NOW);
        const t = templates.get(`${locale}/${templateName(kind)}`)!;
        for (const part of [t.subject, t.html, t.text]) {
          const missing = missingVariables(part, view);
          assert(
            missing.length === 0,
            `${locale}/${kind} ${JSON.stringify(v)}: no value for ${missing}`,
          );
        }
        const out = renderEmail(templates, locale, templateName(kind), view);
        for (const [part, body] of Object.entries(out)) {
          assert(
            !/\{\{|\}\}/.test(body),
            `${locale}/${kind} ${part}: unresolved braces in\n${body}`,
          );
          assert(body.trim().length > 0, `${locale}/${kind} ${part} is empty`);
        }
        assert(
          out.subject.includes(data.meeting.title),
          `${locale}/${kind}: subject names the meeting`,
        );
        assert(!out.subject.includes("\n"), `${locale}/${kind}: subject is one line`);
      }
    }
  }
});

Deno.test("a placeholder without a value is an error, not an empty hole", () => {
  const view = buildView(sample("confirmation"), NOW);
  delete (view as Record<string, unknown>).organizer_name;
  let error: unknown;
  try {
    renderEmail(templates, "en", "confirmation", view);
  } catch (e) {
    error = e;
  }
  assert(error instanceof Error && /organizer_name/.test(error.message), `got ${error}`);
});

Deno.test("HTML escapes meeting data; text keeps it as written", () => {
  const out = renderEmail(templates, "en", "confirmation", buildView(sample("confirmation"), NOW));
  assert(out.html.includes("&lt;budget&gt; &amp; &quot;scope&quot;"), "title escaped in HTML");
  assert(!out.html.includes("<budget>"), "no raw markup from data in HTML");
  assert(out.text.includes('<budget> & "scope"'), "text is not HTML-escaped");
});

Deno.test("times are rendered in the recipient's zone and language, with the zone named", () => {
  const en = renderEmail(
    templates,
    "en",
    "confirmation",
    buildView(sample("confirmation", { locale: "en", timeZone: "America/New_York" }), NOW),
  );
  // 14:00 UTC on 2027-03-15 is 10:00 in New York (EDT since March 14).
  assert(en.text.includes("Monday, March 15, 2027, 10:00 – 11:00 AM"), en.text);
  assert(en.text.includes("Eastern Daylight Time, America/New_York"), en.text);

  const de = renderEmail(
    templates,
    "de",
    "confirmation",
    buildView(sample("confirmation", { locale: "de", timeZone: "Europe/Berlin" }), NOW),
  );
  assert(de.text.includes("Montag, 15. März 2027, 15:00–16:00"), de.text);
  assert(de.text.includes("Mitteleuropäische Normalzeit, Europe/Berlin"), de.text);
  assert(de.subject.startsWith("Einladung: "), de.subject);
  assert(de.text.includes("lädt Sie zu"), "German body");
});

Deno.test("all-day meetings show local dates of the meeting's zone, end date exclusive", () => {
  const view = buildView(
    sample("confirmation", { allDay: true, locale: "de", timeZone: "Asia/Kolkata" }),
    NOW,
  );
  assert(view.when === "Montag, 15. – Dienstag, 16. März 2027", `got ${view.when}`);
  const out = renderEmail(templates, "de", "confirmation", view);
  assert(out.text.includes("ganztägig"), out.text);
});

Deno.test("a reschedule names the previous time; a reminder the real time left", () => {
  const r = renderEmail(
    templates,
    "en",
    "reschedule",
    buildView(sample("reschedule", { timeZone: "Europe/Berlin" }), NOW),
  );
  assert(r.text.includes("It was Friday, March 12, 2027, 10:00 – 11:00 AM"), r.text);
  const late = buildView(sample("reminder_1h", { locale: "de" }), new Date("2027-03-15T13:35:00Z"));
  assert(late.starts_in === "in 25 Minuten", `got ${late.starts_in}`);
  const day = buildView(sample("reminder_24h"), new Date("2027-03-14T14:00:00Z"));
  assert(day.starts_in === "in 24 hours", `got ${day.starts_in}`);
});
