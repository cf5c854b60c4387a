/**
 * crun words a failed exec of the container's command its own way; Docker's clients expect
 * runc's words (the docker CLI picks exit 127 or 126 by looking for "executable file not
 * found", "no such file or directory" and "permission denied", in lower case). This puts a
 * crun message about the command (or the working directory) into runc's form; anything else
 * is returned unchanged.
 *
 *   crun: executable file `nosuch` not found in $PATH: No such file or directory
 *   runc: crun create failed: unable to start container process: exec: "nosuch": executable file not found in $PATH
 */
export function inRuncWords(message: string, step: "create" | "exec", command: string | undefined): string {
  const prefix = step === "create" ? "crun create failed: unable to start container process" : "exec failed: unable to start container process";
  const notFound = /^executable file `(.*)` not found in \$PATH: No such file or directory$/.exec(message);
  if (notFound) {
    const file = notFound[1]!;
    return file.includes("/")
      ? `${prefix}: exec: ${JSON.stringify(file)}: stat ${file}: no such file or directory`
      : `${prefix}: exec: ${JSON.stringify(file)}: executable file not found in $PATH`;
  }
  const cannotOpen = /^open executable: (.*)$/.exec(message);
  if (cannotOpen && command !== undefined) {
    const reason = /^(Permission denied|Operation not permitted)$/.test(cannotOpen[1]!) ? "permission denied" : cannotOpen[1]!.toLowerCase();
    return `${prefix}: exec: ${JSON.stringify(command)}: ${reason}`;
  }
  const chdir = /^chdir `(.*)`: (.*)$/.exec(message);
  if (chdir) {
    return `${prefix}: error during container init: chdir to cwd (${JSON.stringify(chdir[1])}) set in config.json failed: ${chdir[2]!.toLowerCase()}`;
  }
  return message;
}
