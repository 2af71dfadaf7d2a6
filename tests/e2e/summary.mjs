// Prints "<passed> <failed>" from Playwright's JSON report (results.json), for .ci/test; on
// standard error, each failed test's place and the first lines of its error, which .ci/test
// repeats at the end of its output (CI shows only the tail, where the list reporter's own
// account of a failure has long scrolled away).
import { readFileSync } from 'node:fs';

/** Every spec in a suite and its sub-suites. */
function* specsOf(suite) {
  yield* suite.specs ?? [];
  for (const child of suite.suites ?? []) yield* specsOf(child);
}

/** The first lines of an error message, without the terminal's colour codes. */
function firstLines(message, count = 12) {
  const plain = message.replace(/\u001b\[[0-9;]*m/g, '');
  return plain.split('\n').slice(0, count).map((line) => `    ${line}`).join('\n');
}

let report;
try {
  report = JSON.parse(readFileSync(new URL('./results.json', import.meta.url), 'utf8'));
} catch {
  console.log('0 1');
  console.error('no results.json: Playwright did not get to report (see its output above)');
  process.exit(0);
}
for (const error of report.errors ?? []) {
  console.error(`outside any test:\n${firstLines(error.message ?? String(error))}`);
}
for (const suite of report.suites ?? []) {
  for (const spec of specsOf(suite)) {
    for (const test of spec.tests ?? []) {
      if (test.status !== 'unexpected') continue;
      const errors = (test.results ?? []).flatMap((result) => result.errors ?? []);
      const messages = errors.map((error) => firstLines(error.message ?? '')).join('\n');
      console.error(`${spec.file}:${spec.line} › ${spec.title}\n${messages}`);
    }
  }
}
const { stats } = report;
console.log(`${stats.expected + stats.flaky} ${stats.unexpected}`);
