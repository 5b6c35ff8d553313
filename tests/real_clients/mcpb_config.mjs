// How an app that installs MCP bundles starts one: the official mcpb library's
// getMcpConfigForManifest, for an unpacked bundle and the user's settings.
//   node mcpb_config.mjs <unpacked bundle dir> '<user config as JSON>'
// prints {command, args, env} as JSON.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { getMcpConfigForManifest } from "@anthropic-ai/mcpb";

const [dir, userConfig] = process.argv.slice(2);
const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
const config = await getMcpConfigForManifest({
  manifest,
  extensionPath: dir,
  systemDirs: {},
  userConfig: JSON.parse(userConfig),
  pathSeparator: "/",
});
process.stdout.write(JSON.stringify(config ?? null));
