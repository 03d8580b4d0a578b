/**
 * The `--dev` demo page served at `GET /demo`: a `<herald-bell>` fed by a
 * shared HeraldClient (from @herald/client, served beside the page, token
 * from `/dev/token`) and a form that publishes through the dev-only
 * `/dev/publish`. Open it in several tabs: they share one connection. The
 * inline script avoids backticks and template placeholders so it can live
 * in this literal.
 */

const STYLE = `
:root { color-scheme: light; --accent: #4f46e5; --bg: #f5f6fa; --card: #fff; --text: #1f2430;
  --muted: #4b5563; --line: #e5e7eb }
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
herald-bell { --herald-bell-accent: var(--accent) }
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
.role-note { font-size: 12px; color: var(--muted) }
@media (max-width: 520px) { .brand small { display: none } .top { padding: 10px 12px }
  .card { padding: 18px } main { margin-top: 20px } }
`

const SCRIPT = `
import { HeraldClient } from '/demo/herald-bell.js'

const $ = (id) => document.getElementById(id)
const userInput = $('user'), message = $('message'), target = $('target'), send = $('send')
const statusEl = $('status')
const USER_RE = /^[A-Za-z0-9._:@+=|-]{1,128}$/
const LABELS = { connecting: 'connecting…', open: 'connected', reconnecting: 'reconnecting…', closed: 'closed' }
let user = userInput.value, client = null

function setStatus(state) {
  statusEl.dataset.state = state === 'open' ? 'connected' : state
  statusEl.textContent = LABELS[state] || state
}
function showResult(text, isError) {
  $('result').textContent = text
  $('result').classList.toggle('error', Boolean(isError))
}

async function postJson(path, body) {
  const res = await fetch(path, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  })
  const json = await res.json().catch(() => ({}))
  if (!res.ok) throw new Error((json.error && json.error.message) || 'HTTP ' + res.status)
  return json
}

// The client retries a failed getToken quietly; the page says why, or it would sit on "connecting…"
// for good (a gateway that verifies with JWT_PUBLIC_KEY has no secret to mint with).
let tokenFailed = false
async function mintToken(forUser) {
  try {
    const { token } = await postJson('/dev/token', { user: forUser, topics: ['announcements'] })
    if (tokenFailed) showResult('', false)
    tokenFailed = false
    return token
  } catch (err) {
    tokenFailed = true
    showResult('No token: ' + err.message, true)
    throw err
  }
}

function connect() {
  if (client) client.close()
  $('notice').hidden = true
  const forUser = user
  client = new HeraldClient({
    url: '/v1/events',
    topics: ['announcements'],
    getToken: () => mintToken(forUser),
  })
  client.onStateChange(setStatus)
  client.onRoleChange((role) => { $('role').textContent = role === 'follower' ? 'shared from another tab' : '' })
  client.onReset((reset) => {
    $('notice').textContent = 'Some notifications may be missing (' + reset.reason + ')'
    $('notice').hidden = false
  })
  client.onError((error) => showResult(error.message, true))
  // A fresh bell per user: another user's notifications must not show.
  const bell = document.createElement('herald-bell')
  bell.id = 'bell'
  bell.client = client
  $('bell').replaceWith(bell)
  setStatus(client.state)
}

function applyUser() {
  const next = userInput.value.trim()
  if (next === user) return
  if (!USER_RE.test(next)) return showResult('User ids: 1-128 of A-Z a-z 0-9 . _ : @ + = | -', true)
  user = next
  $('target-me').textContent = 'me (' + user + ')'
  showResult('', false)
  connect()
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

$('target-me').textContent = 'me (' + user + ')'
connect()
`

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
  <span id="status" class="status" data-state="connecting" role="status">connecting…</span>
  <span id="role" class="role-note"></span>
  <herald-bell id="bell"></herald-bell>
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
<script type="module">${SCRIPT}</script>
</body>
</html>
`
}
