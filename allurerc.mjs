// Allure 3 configuration of the published report: one self-contained HTML file.
// The failure categories are shared with the Allure 2 categories.json the harness writes.
import { readFileSync } from "node:fs";

const categories = JSON.parse(
  readFileSync(new URL("./lucs_harness/reporting/categories.json", import.meta.url), "utf8"),
);

export default {
  name: "LUCS acceptance",
  output: "./reports/allure-report",
  categories,
  plugins: {
    awesome: {
      options: { singleFile: true, reportLanguage: "en", theme: "light", groupBy: ["feature", "story"] },
    },
  },
};
