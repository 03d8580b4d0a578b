/**
 * The `--dev` demo page served at `GET /demo`: a notification bell fed by
 * `GET /v1/events` (native EventSource, token from `/dev/token`) and a form
 * that publishes through the dev-only `/dev/publish`. One self-contained HTML
 * document: inline CSS and script, no external resources. The inline script
 * avoids backticks and template placeholders so it can live in this literal.
 */

const STYLE = `
:root { color-scheme: light; --accent: #4f46e5; --bg: #f5f6fa; --card: #fff; --text: #1f2430;
  --muted: #6b7280; --line: #e5e7eb }
* { box-sizing: border-box }
[hidden] { display: none !important }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
  background: var(--bg); color: var(--text) }
:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px }
.top { display: flex; align-items: center; gap: 14px; padding: 12px 20px; background: var(--card);
  border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 10 }
.brand { font-weight: 700; margin-right: auto }
.brand small { color: var(--muted); font-weight: 500; margin-left: 6px }
.status { font-size: 13px; color: var(--muted); display: inline-flex; align-items: center;
  gap: 6px }
.status::before { content: ''; width: 8px; height: 8px; border-radius: 50%; background: #9ca3af }
.status[data-state='connected']::before { background: #16a34a }
.status[data-state='reconnecting']::before { background: #f59e0b }
.status[data-state='error']::before { background: #dc2626 }
.bell-wrap { position: relative }
#bell { position: relative; display: grid; place-items: center; width: 40px; height: 40px;
  border: 1px solid var(--line); border-radius: 50%; background: var(--card); color: var(--text);
  cursor: pointer }
#bell:hover, #bell[aria-expanded='true'] { background: #f3f4f6 }
.badge { position: absolute; top: -5px; right: -5px; min-width: 18px; height: 18px; padding: 0 5px;
  border-radius: 9px; background: #dc2626; color: #fff; font-size: 11px; font-weight: 700;
  line-height: 18px; text-align: center }
.panel { position: absolute; right: 0; top: 50px; width: min(360px, calc(100vw - 24px));
  max-height: 70vh; overflow: auto; background: var(--card); border: 1px solid var(--line);
  border-radius: 12px; box-shadow: 0 12px 32px rgba(15, 23, 42, 0.16) }
.panel-head { display: flex; align-items: center; justify-content: space-between;
  padding: 10px 14px; border-bottom: 1px solid var(--line); position: sticky; top: 0;
  background: var(--card) }
.panel-head h2 { margin: 0; font-size: 15px }
.link { border: 0; background: none; color: var(--accent); font: inherit; font-size: 13px;
  cursor: pointer; padding: 2px 4px; border-radius: 4px }
#list { list-style: none; margin: 0; padding: 0 }
#list li { padding: 10px 14px; border-bottom: 1px solid var(--line) }
#list li:last-child { border-bottom: 0 }
#list li.unread { background: #eef2ff }
#list .title { font-weight: 600; display: block }
#list .body { margin: 2px 0; white-space: pre-wrap; overflow-wrap: anywhere }
#list time, .empty { font-size: 12px; color: var(--muted) }
.empty { margin: 0; padding: 18px 14px; text-align: center }
main { max-width: 640px; margin: 32px auto; padding: 0 16px }
.card { background: var(--card); border-radius: 14px; padding: 24px; border: 1px solid var(--line);
  box-shadow: 0 1px 3px rgba(0, 0, 0, 0.05), 0 8px 24px rgba(15, 23, 42, 0.06) }
h1 { margin: 0 0 4px; font-size: 20px }
.hint { margin: 0 0 8px; color: var(--muted); font-size: 13px }
.hint code { background: #f3f4f6; padding: 1px 4px; border-radius: 4px }
.notice { margin: 0 0 16px; padding: 8px 12px; border-radius: 8px; background: #fef3c7;
  color: #92400e; font-size: 13px }
label { display: block; font-weight: 600; font-size: 13px; margin: 14px 0 6px }
input, textarea, select { width: 100%; padding: 9px 11px; border: 1px solid #d1d5db;
  border-radius: 8px; font: inherit; background: #fff; color: inherit }
textarea { resize: vertical }
.row { display: flex; align-items: center; gap: 12px; margin-top: 16px; flex-wrap: wrap }
.primary { background: var(--accent); color: #fff; border: 0; border-radius: 8px; padding: 9px 20px;
  font: inherit; font-weight: 600; cursor: pointer }
.primary:hover { background: #4338ca }
.primary:disabled { opacity: 0.6; cursor: default }
.result { font-size: 13px; color: var(--muted) }
.result.error { color: #b91c1c }
kbd { font: 12px ui-monospace, monospace; border: 1px solid var(--line); border-radius: 4px;
  padding: 0 4px }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0 }
@media (max-width: 520px) { .brand small { display: none } .top { padding: 10px 12px }
  .card { padding: 18px } main { margin-top: 20px } }
`

const SCRIPT = `
const $ = (id) => document.getElementById(id)
const userInput = $('user'), message = $('message'), target = $('target'), send = $('send')
const bell = $('bell'), badge = $('badge'), panel = $('panel'), list = $('list')
const statusEl = $('status')
const USER_RE = /^[A-Za-z0-9._:@+=|-]{1,128}$/
const MAX_ITEMS = 50
let items = [], user = userInput.value, source = null, lastEventId = '', timer = 0, generation = 0

function setStatus(state, text) { statusEl.dataset.state = state; statusEl.textContent = text }
function showResult(text, isError) {
  $('result').textContent = text
  $('result').classList.toggle('error', Boolean(isError))
}
function ago(ms) {
  const s = Math.round((Date.now() - ms) / 1000)
  if (s < 10) return 'just now'
  if (s < 60) return s + ' s ago'
  if (s < 3600) return Math.floor(s / 60) + ' min ago'
  if (s < 86400) return Math.floor(s / 3600) + ' h ago'
  return new Date(ms).toLocaleString()
}

function render() {
  const unread = items.filter((i) => !i.read).length
  badge.textContent = unread > 99 ? '99+' : String(unread)
  badge.hidden = unread === 0
  bell.setAttribute('aria-label', 'Notifications, ' + unread + ' unread')
  $('empty').hidden = items.length > 0
  list.replaceChildren(...items.map((item) => {
    const li = document.createElement('li')
    if (!item.read) li.className = 'unread'
    const title = document.createElement('span')
    title.className = 'title'
    title.textContent = item.title
    const body = document.createElement('p')
    body.className = 'body'
    body.textContent = item.body
    const time = document.createElement('time')
    time.dateTime = new Date(item.at).toISOString()
    time.textContent = ago(item.at)
    li.append(title, body, time)
    return li
  }))
}

function markAllRead() { for (const item of items) item.read = true; render() }
function setOpen(open) {
  panel.hidden = !open
  bell.setAttribute('aria-expanded', String(open))
  if (open) markAllRead()
}

async function postJson(path, body) {
  const res = await fetch(path, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  })
  const json = await res.json().catch(() => ({}))
  if (!res.ok) throw new Error((json.error && json.error.message) || 'HTTP ' + res.status)
  return json
}
function parse(data) { try { return JSON.parse(data) } catch { return data } }

function onNotification(ev) {
  if (ev.lastEventId) lastEventId = ev.lastEventId
  if (ev.lastEventId && items.some((i) => i.id === ev.lastEventId)) return
  const data = parse(ev.data)
  const obj = data !== null && typeof data === 'object' ? data : {}
  const title = typeof obj.title === 'string' ? obj.title : ev.type
  const text = typeof data === 'string' ? data : JSON.stringify(data)
  const body = typeof obj.body === 'string' ? obj.body : text
  const at = typeof obj.sentAt === 'number' ? obj.sentAt : Date.now()
  items = [{ id: ev.lastEventId, title, body, at, read: false }, ...items].slice(0, MAX_ITEMS)
  $('live').textContent = 'New notification: ' + title
  render()
}

async function connect(resume) {
  const gen = ++generation
  clearTimeout(timer)
  if (source) { source.close(); source = null }
  if (!resume) { lastEventId = ''; items = []; $('notice').hidden = true; render() }
  setStatus(resume ? 'reconnecting' : 'connecting', resume ? 'reconnecting…' : 'connecting…')
  let token
  try {
    token = await postJson('/dev/token', { user, topics: ['announcements'] })
  } catch (err) {
    if (gen !== generation) return
    setStatus('error', 'no token: ' + err.message)
    timer = setTimeout(() => connect(true), 5000)
    return
  }
  if (gen !== generation) return
  let url = '/v1/events?access_token=' + encodeURIComponent(token.token) + '&topics=announcements'
  if (lastEventId) url += '&lastEventId=' + encodeURIComponent(lastEventId)
  const es = new EventSource(url)
  source = es
  es.addEventListener('open', () => setStatus('connected', 'connected'))
  es.addEventListener('error', () => {
    setStatus('reconnecting', 'reconnecting…')
    if (es.readyState !== EventSource.CLOSED || source !== es) return
    clearTimeout(timer)
    timer = setTimeout(() => connect(true), 2000)
  })
  es.addEventListener('message', onNotification)
  es.addEventListener('demo.message', onNotification)
  es.addEventListener('herald.reset', (ev) => {
    const data = parse(ev.data)
    const reason = (data && data.reason) || 'unknown'
    $('notice').textContent = 'Some notifications may be missing (' + reason + ')'
    $('notice').hidden = false
  })
  es.addEventListener('herald.unavailable', () => setStatus('reconnecting', 'reconnecting…'))
  const refreshIn = Math.max(5000, token.expiresAt - Date.now() - 60000)
  timer = setTimeout(() => connect(true), refreshIn)
}

function applyUser() {
  const next = userInput.value.trim()
  if (next === user) return
  if (!USER_RE.test(next)) return showResult('User ids: 1-128 of A-Z a-z 0-9 . _ : @ + = | -', true)
  user = next
  $('target-me').textContent = 'me (' + user + ')'
  showResult('', false)
  connect(false)
}
userInput.addEventListener('change', applyUser)
userInput.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') applyUser() })

$('send-form').addEventListener('submit', async (ev) => {
  ev.preventDefault()
  const text = message.value.trim()
  if (!text) return showResult('Write a message first.', true)
  const data = { title: 'Message from ' + user, body: text, sentAt: Date.now() }
  const to = target.value === 'topic' ? { topic: 'announcements' } : { user }
  send.disabled = true
  try {
    const res = await postJson('/dev/publish', { ...to, type: 'demo.message', data })
    message.value = ''
    showResult('Sent (id ' + res.id + ')', false)
  } catch (err) {
    showResult(err.message, true)
  } finally {
    send.disabled = false
  }
})
message.addEventListener('keydown', (ev) => {
  if (ev.key !== 'Enter' || !(ev.ctrlKey || ev.metaKey)) return
  ev.preventDefault()
  $('send-form').requestSubmit()
})

bell.addEventListener('click', () => setOpen(panel.hidden))
$('mark-read').addEventListener('click', markAllRead)
document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && !panel.hidden) { setOpen(false); bell.focus() }
})
document.addEventListener('click', (ev) => {
  if (!panel.hidden && !panel.contains(ev.target) && !bell.contains(ev.target)) setOpen(false)
})
setInterval(() => { if (!panel.hidden) render() }, 30000)
$('target-me').textContent = 'me (' + user + ')'
render()
connect(false)
`

const BELL_ICON =
  '<svg width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" ' +
  'stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" ' +
  'focusable="false"><path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9"/>' +
  '<path d="M10.3 21a1.94 1.94 0 0 0 3.4 0"/></svg>'

/** The dev demo page: a bell that receives notifications, and a form that publishes them. */
export function renderDemoPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Herald demo</title>
<style>${STYLE}</style>
</head>
<body>
<header class="top">
  <div class="brand">Herald<small>dev demo</small></div>
  <span id="status" class="status" data-state="connecting">connecting…</span>
  <div class="bell-wrap">
    <button id="bell" type="button" aria-label="Notifications, 0 unread" aria-expanded="false"
      aria-controls="panel">${BELL_ICON}<span id="badge" class="badge" aria-hidden="true"
      hidden>0</span></button>
    <section id="panel" class="panel" role="region" aria-labelledby="panel-title" hidden>
      <div class="panel-head">
        <h2 id="panel-title">Notifications</h2>
        <button id="mark-read" class="link" type="button">Mark all read</button>
      </div>
      <ol id="list" aria-label="Notifications, newest first"></ol>
      <p id="empty" class="empty">No notifications yet.</p>
    </section>
  </div>
</header>
<main>
  <p id="notice" class="notice" role="status" hidden></p>
  <section class="card" aria-labelledby="send-title">
    <h1 id="send-title">Send a notification</h1>
    <p class="hint">This page exists only in <code>--dev</code> mode. The form publishes through the
      dev-only <code>/dev/publish</code>; production backends use <code>POST /v1/publish</code> with
      the API key.</p>
    <label for="user">You are:</label>
    <input id="user" value="demo" autocomplete="off" spellcheck="false" maxlength="128">
    <form id="send-form">
      <label for="message">Message</label>
      <textarea id="message" rows="3" placeholder="Hello from Herald"></textarea>
      <label for="target">Send to</label>
      <select id="target">
        <option id="target-me" value="user">me (demo)</option>
        <option value="topic">everyone (topic announcements)</option>
      </select>
      <div class="row">
        <button id="send" class="primary" type="submit">Send</button>
        <span class="result"><kbd>Ctrl</kbd>/<kbd>⌘</kbd>+<kbd>Enter</kbd> sends</span>
        <span id="result" class="result" role="status"></span>
      </div>
    </form>
  </section>
</main>
<div id="live" class="sr-only" aria-live="polite"></div>
<script type="module">${SCRIPT}</script>
</body>
</html>
`
}
