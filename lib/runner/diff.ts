// Unified diffs for --diff; secret files say that they changed, never how.
import { createTwoFilesPatch } from "diff";
import type { FileDiff } from "../resources/resource.ts";

export function renderDiff(change: FileDiff, before: string | null): string {
  if (change.secret)
    return `--- ${change.path}\n+++ ${change.path}\n(secret content ${change.exists ? "changed" : "created"}; not shown)\n`;
  return createTwoFilesPatch(
    change.path,
    change.path,
    before ?? "",
    change.after,
    change.exists ? "before" : "absent",
    "after",
    { context: 3 },
  )
    .split("\n")
    .slice(1)
    .join("\n");
}
