/**
 * Stops a long-running command whose npm launcher is gone. `npm run engine` and
 * `npx strata engine` put npm (and, for npx, a `sh -c`) between the operator and this
 * process. npm forwards SIGINT and SIGTERM to its own child only: a `sh` in between dies
 * without passing them on, and a SIGHUP or SIGKILL of npm is passed to nobody. Either way
 * this process is re-parented and would run on with its private servers. The watch sees
 * the parent pid change and asks for the same clean shutdown as a signal.
 * Only under npm (it sets `npm_lifecycle_event` for run and exec): a process started
 * directly, by a shell, nohup, systemd or a container keeps running when its parent goes.
 */
export const watchLauncher = (onGone: () => void, everyMs = 500): void => {
  if (process.env["npm_lifecycle_event"] === undefined) return
  const parent = process.ppid
  const timer = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(timer)
    onGone()
  }, everyMs)
  // The watch alone never keeps the process alive.
  timer.unref()
}
