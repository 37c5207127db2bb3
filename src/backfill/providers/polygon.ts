/**
 * The Polygon REST provider: aggregates (`/v2/aggs/ticker/{t}/range/{m}/{span}/{from}/{to}`
 * with adjusted, sort and limit), news (`/v2/reference/news`), splits and dividends
 * (`/v3/reference/splits`, `/v3/reference/dividends`), following `next_url` page by page,
 * each page through the shared limiter. A page that fails leaves the pages read before it
 * and its cursor in the task's session, so the retry asks for that page, not page 1; every
 * request made is counted there. The API key goes in the Authorization header,
 * never in a URL. Maps HTTP outcomes to tagged errors: 429 → RateLimited (Retry-After),
 * 5xx / 408 / network / timeout → Retryable, other 4xx → Terminal.
 * Has no sentiment source and no tick aggregates: `supports` says so.
 */
import type { Interval } from "../../../config/schema.ts"
import type { Bar, CorporateAction, NewsItem, RowsOf, StorageKind } from "../../domain/rows.ts"
import { RateLimited, Retryable, Terminal, parseRetryAfter } from "../errors.ts"
import type { Limiter } from "../rate-limit.ts"
import { newSession, type FetchRequest, type FetchResult, type FetchSession, type PagedState, type Provider } from "./provider.ts"

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

export interface PolygonOptions {
  readonly baseUrl: string
  readonly apiKey: string
  readonly pageLimit: number
  readonly timeoutMs: number
}

const SPANS: Record<Exclude<Interval, "tick">, [number, string]> = {
  "1day": [1, "day"],
  "1hour": [1, "hour"],
  "5min": [5, "minute"],
  "1min": [1, "minute"]
}

const isoDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10)
const dateMs = (date: string): number => Date.parse(`${date.slice(0, 10)}T00:00:00Z`)

interface Page { readonly results?: unknown[]; readonly next_url?: string; readonly status?: string }

interface AggResult { t: number; o: number; h: number; l: number; c: number; v: number; vw?: number; n?: number }
interface NewsResult { id: string; published_utc: string; title?: string; article_url?: string; publisher?: { name?: string } }
interface SplitResult { execution_date: string; split_from: number; split_to: number }
interface DividendResult { ex_dividend_date: string; cash_amount: number }

/** `limit` of the news, splits and dividends requests (Polygon's maximum there). */
export const POLYGON_EVENT_PAGE_LIMIT = 1000

/** What Polygon has a source of: bars (not ticks), news, corporate actions. */
export const polygonSupports = (kind: StorageKind, interval: string): boolean =>
  kind === "news" || kind === "corporate_actions" || (kind === "bars" && interval !== "tick" && interval !== "")

export const polygonProvider = (opts: PolygonOptions, limiter: Limiter): Provider => {
  if (opts.apiKey === "") throw new Error("the polygon provider needs an API key: set POLYGON_API_KEY")
  const base = new URL(opts.baseUrl)

  const getPage = async (url: URL, session: FetchSession): Promise<Page> => {
    session.requests++
    let res: Response
    try {
      res = await fetch(url, {
        headers: { Authorization: `Bearer ${opts.apiKey}`, Accept: "application/json" },
        signal: AbortSignal.timeout(opts.timeoutMs)
      })
    } catch (e) {
      throw new Retryable({ message: `GET ${url.pathname}: ${messageOf(e)}` })
    }
    if (res.status === 429) {
      await res.body?.cancel()
      throw new RateLimited({ message: `GET ${url.pathname}: 429`, retryAfterMs: parseRetryAfter(res.headers.get("retry-after"), Date.now()) })
    }
    if (res.status >= 500 || res.status === 408) {
      await res.body?.cancel()
      throw new Retryable({ message: `GET ${url.pathname}: ${res.status}`, status: res.status })
    }
    if (res.status !== 200) {
      const text = await res.text().catch((e: unknown) => `(body unreadable: ${messageOf(e)})`)
      const hint = res.status === 401 || res.status === 403 ? " (check POLYGON_API_KEY)" : ""
      throw new Terminal({ message: `GET ${url.pathname}: ${res.status}${hint} ${text.slice(0, 200)}`, status: res.status })
    }
    try {
      return (await res.json()) as Page
    } catch (e) {
      throw new Retryable({ message: `GET ${url.pathname}: unreadable JSON: ${messageOf(e)}` })
    }
  }

  /** Every page's results, following next_url (same origin only), from where the session stands. */
  const getAll = async <T>(first: URL, session: FetchSession): Promise<{ results: T[]; requests: number }> => {
    const before = session.requests
    let state: PagedState | undefined = session.pages.get(first.href)
    if (!state) {
      state = { results: [], next: first.href }
      session.pages.set(first.href, state)
    }
    while (state.next !== undefined) {
      const url = new URL(state.next)
      const page = await limiter.schedule(() => getPage(url, session))
      let next: URL | undefined
      if (page.next_url) {
        next = new URL(page.next_url, base)
        if (next.origin !== base.origin) throw new Terminal({ message: `next_url leaves ${base.origin}: ${next.origin}` })
      }
      // The page counts as read only now, results and cursor together.
      for (const r of page.results ?? []) state.results.push(r)
      state.next = next?.href
    }
    return { results: state.results as T[], requests: session.requests - before }
  }

  const endpoint = (path: string, params: Record<string, string | number>): URL => {
    const url = new URL(path.replace(/^\//, ""), base.href.endsWith("/") ? base : new URL(`${base.href}/`))
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v))
    return url
  }

  const bars = async (req: FetchRequest, session: FetchSession): Promise<FetchResult<"bars">> => {
    const interval = req.interval
    // A bars series always has an interval; "" (no bars) and tick have no aggregates.
    if (interval === "" || interval === "tick") throw new Terminal({ message: `no aggregates for interval ${interval}` })
    const span = SPANS[interval]
    const url = endpoint(`/v2/aggs/ticker/${encodeURIComponent(req.symbol)}/range/${span[0]}/${span[1]}/${req.from}/${req.to - 1}`, {
      adjusted: "true", sort: "asc", limit: opts.pageLimit
    })
    const { results, requests } = await getAll<AggResult>(url, session)
    const rows: Bar[] = results.map((r) => ({
      symbol: req.symbol, interval, ts: r.t, open: r.o, high: r.h, low: r.l, close: r.c,
      volume: r.v, vwap: r.vw ?? 0, trades: r.n ?? 0
    }))
    return { rows, requests }
  }

  const news = async (req: FetchRequest, session: FetchSession): Promise<FetchResult<"news">> => {
    const url = endpoint("/v2/reference/news", {
      ticker: req.symbol, "published_utc.gte": new Date(req.from).toISOString(), "published_utc.lt": new Date(req.to).toISOString(),
      order: "asc", sort: "published_utc", limit: POLYGON_EVENT_PAGE_LIMIT
    })
    const { results, requests } = await getAll<NewsResult>(url, session)
    const rows: NewsItem[] = results.map((r) => ({
      symbol: req.symbol, id: r.id, published_at: Date.parse(r.published_utc),
      title: r.title ?? "", publisher: r.publisher?.name ?? "", url: r.article_url ?? ""
    }))
    return { rows, requests }
  }

  const actions = async (req: FetchRequest, session: FetchSession): Promise<FetchResult<"corporate_actions">> => {
    const range = { ticker: req.symbol, limit: POLYGON_EVENT_PAGE_LIMIT }
    const splits = await getAll<SplitResult>(endpoint("/v3/reference/splits", {
      ...range, "execution_date.gte": isoDate(req.from), "execution_date.lt": isoDate(req.to)
    }), session)
    const dividends = await getAll<DividendResult>(endpoint("/v3/reference/dividends", {
      ...range, "ex_dividend_date.gte": isoDate(req.from), "ex_dividend_date.lt": isoDate(req.to)
    }), session)
    const rows: CorporateAction[] = [
      ...splits.results.map((s): CorporateAction => ({ symbol: req.symbol, kind: "split", ex_date: dateMs(s.execution_date), value: s.split_to / s.split_from })),
      ...dividends.results.map((d): CorporateAction => ({ symbol: req.symbol, kind: "dividend", ex_date: dateMs(d.ex_dividend_date), value: d.cash_amount }))
    ]
    return { rows, requests: splits.requests + dividends.requests }
  }

  return {
    name: "polygon",
    supports: polygonSupports,
    fetch: async <K extends StorageKind>(req: FetchRequest & { readonly kind: K }, session: FetchSession = newSession()): Promise<FetchResult<K>> => {
      if (!polygonSupports(req.kind, req.interval)) throw new Terminal({ message: `polygon has no ${req.kind} ${req.interval}` })
      const result = req.kind === "bars" ? await bars(req, session) : req.kind === "news" ? await news(req, session) : await actions(req, session)
      // Keep only what was asked for: a provider may answer a little outside the range.
      const inRange = (result.rows as readonly RowsOf[StorageKind][]).filter((row) => {
        const t = "ts" in row ? row.ts : "published_at" in row ? row.published_at : row.ex_date
        return t >= req.from && t < req.to && row.symbol === req.symbol
      })
      return { rows: inRange as RowsOf[K][], requests: result.requests }
    }
  }
}
