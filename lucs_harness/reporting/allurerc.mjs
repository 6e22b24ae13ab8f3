// Allure 3 configuration of the published report (given with --config): one self-contained HTML file.
// The failure categories are shared with the Allure 2 categories.json the harness writes.
// lucs-acceptance sets (lucs_harness/reporting/html.py, quality_gate.py):
//   LUCS_ALLURE_HISTORY       the history file kept across runs (the trend), unset = no history
//   LUCS_ALLURE_QUALITY_GATE  the quality gate's rules as JSON, unset = no gate
import { readFileSync } from "node:fs";

const categories = JSON.parse(
  readFileSync(new URL("./categories.json", import.meta.url), "utf8"),
);
const history = process.env.LUCS_ALLURE_HISTORY;
const gate = process.env.LUCS_ALLURE_QUALITY_GATE;

export default {
  name: "LUCS acceptance",
  output: "./reports/allure-report",
  categories,
  ...(history ? { historyPath: history, historyLimit: 50 } : {}),
  ...(gate ? { qualityGate: { rules: [JSON.parse(gate)] } } : {}),
  plugins: {
    awesome: {
      options: { singleFile: true, reportLanguage: "en", theme: "light", groupBy: ["feature", "story"] },
    },
  },
};
