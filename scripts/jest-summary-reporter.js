// Prints, after Jest's own summary, how many tests ran per package and how many of them are rule
// tests (files under packages/domain/test/rules), then one plain closing line "N passed, N failed".
'use strict';

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const perProject = new Map();
    let rulePassed = 0;
    let ruleFailed = 0;
    for (const file of results.testResults) {
      const name = file.displayName?.name ?? 'tests';
      const entry = perProject.get(name) ?? { passed: 0, failed: 0 };
      entry.passed += file.numPassingTests;
      entry.failed += file.numFailingTests;
      perProject.set(name, entry);
      if (/packages[\\/]domain[\\/]test[\\/]rules[\\/]/.test(file.testFilePath)) {
        rulePassed += file.numPassingTests;
        ruleFailed += file.numFailingTests;
      }
    }
    const lines = ['', 'sitesync test summary'];
    for (const [name, { passed, failed }] of perProject) {
      lines.push(`  ${name.padEnd(10)} ${passed} passed, ${failed} failed`);
    }
    lines.push(`  rule tests ${rulePassed} passed, ${ruleFailed} failed (docs/sync-rules.md rows)`);
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    lines.push(`${results.numPassedTests} passed, ${failed} failed`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}

module.exports = SummaryReporter;
