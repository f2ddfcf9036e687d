/**
 * What an open dashboard page and a Prometheus scraper do to a running job, for the
 * keyed-count suite's `--web-ui` entries: once a second, the page's requests (the job, its
 * checkpoints, exceptions, chart series and a vertex) and a `/metrics` scrape. Stops by itself
 * when the job ends (its server closes).
 */
export function watchDashboard(url: string): void {
  let jid: string | undefined;
  const timer = setInterval(() => {
    void (async () => {
      if (jid === undefined) jid = ((await (await fetch(`${url}jobs/overview`)).json()) as { jobs: { jid: string }[] }).jobs[0].jid;
      const base = `${url}jobs/${jid}`;
      await Promise.all(
        [base, `${base}/checkpoints`, `${base}/exceptions`, `${base}/series`, `${base}/vertices/0`, `${url}metrics`].map(async (u) =>
          (await fetch(u)).text(),
        ),
      );
    })().catch(() => clearInterval(timer));
  }, 1000);
  timer.unref();
}
