// The cvi-gateway meeting page: join form, participant grid, host lobby, WebRTC with the
// gateway's SFU. Plain ES2020, no dependencies. The signalling protocol (JSON over a
// WebSocket at /meet/<id>/ws + this page's query string) is described in the gateway docs;
// the client sends ONE offer after `joined`, and afterwards only answers server offers.
// `window.cvi` is the test/automation surface (see the bottom of this file).
(() => {
  'use strict';

  // ---------------------------------------------------------------- debug log
  const debugLog = [];
  function dbg(...parts) {
    const text = parts
      .map((p) => (typeof p === 'string' ? p : safeJson(p)))
      .join(' ');
    const line = new Date().toISOString().slice(11, 23) + ' ' + text;
    debugLog.push(line);
    if (debugLog.length > 1000) debugLog.shift();
    console.log('[meet] ' + text);
  }
  function safeJson(v) {
    if (v instanceof Error) return v.name + ': ' + v.message;
    try {
      return JSON.stringify(v);
    } catch (_) {
      return String(v);
    }
  }

  // ---------------------------------------------------------------- page context
  const pathMatch = /^\/meet\/([^/]+)/.exec(location.pathname);
  const meetingId = pathMatch ? decodeURIComponent(pathMatch[1]) : '';
  const query = new URLSearchParams(location.search);

  const $ = (id) => document.getElementById(id);
  const el = {
    title: $('title'),
    notice: $('notice'),
    noticeText: $('notice-text'),
    joinPanel: $('join-panel'),
    joinForm: $('join-form'),
    joinHint: $('join-hint'),
    name: $('name'),
    join: $('join'),
    meeting: $('meeting'),
    grid: $('grid'),
    lobby: $('lobby'),
    lobbyList: $('lobby-list'),
    lobbyEmpty: $('lobby-empty'),
    recording: $('recording'),
    transcription: $('transcription'),
    status: $('status'),
    controls: $('controls'),
    muteAudio: $('mute-audio'),
    muteVideo: $('mute-video'),
    leave: $('leave'),
  };

  // ---------------------------------------------------------------- session state
  let session = null; // the current attempt: {ws, pc, ...}; null when not in a meeting
  let me = null;
  let isHost = false;
  let roster = [];
  let lobby = [];
  let meetingState = { recording: false, transcription: false };
  let localStream = null;
  const muted = { audio: false, video: false };
  const tiles = new Map(); // participant id -> {el, video, name, stream}
  const trackOwner = new Map(); // remote track id -> participant id
  // participant id -> MediaStream of their live remote tracks; outlives the tile, so a tile
  // removed on a stale roster and created again gets its media back.
  const remoteMedia = new Map();

  function setStatus(text, kind) {
    el.status.textContent = text || '';
    el.status.dataset.kind = kind || 'info';
    if (text) dbg('status:', text);
  }

  // ---------------------------------------------------------------- tiles
  const ICON_MIC_OFF =
    '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-5.9-.8L15 10.1V11" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/><path d="M19 11a7 7 0 0 1-1.2 3.9M5 11a7 7 0 0 0 11 5.7M12 18v3M9 11V9M3 3l18 18" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/></svg>';
  const ICON_CAM_OFF =
    '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M15 10l5-3v10l-5-3M3 3l18 18M13 17H5a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2h1m5 0h2a2 2 0 0 1 2 2v3" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/></svg>';

  function ensureTile(id) {
    let t = tiles.get(id);
    if (t) return t;
    const div = document.createElement('div');
    div.className = 'tile';
    div.dataset.participant = id;
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.setAttribute('playsinline', '');
    const avatar = document.createElement('div');
    avatar.className = 'avatar';
    avatar.setAttribute('aria-hidden', 'true');
    const label = document.createElement('div');
    label.className = 'label';
    const name = document.createElement('span');
    name.className = 'name';
    const you = document.createElement('span');
    you.className = 'you';
    you.textContent = '(you)';
    you.hidden = true;
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = 'Video device';
    badge.hidden = true;
    const micOff = document.createElement('span');
    micOff.className = 'indicator mute-indicator audio-off';
    micOff.title = 'Microphone muted';
    micOff.innerHTML = ICON_MIC_OFF;
    micOff.hidden = true;
    const camOff = document.createElement('span');
    camOff.className = 'indicator mute-indicator video-off';
    camOff.title = 'Camera off';
    camOff.innerHTML = ICON_CAM_OFF;
    camOff.hidden = true;
    const who = document.createElement('span');
    who.className = 'who';
    who.append(name, you);
    label.append(who, badge, micOff, camOff);
    div.append(video, avatar, label);
    el.grid.append(div);
    t = { el: div, video, avatar, name, you, badge, micOff, camOff, stream: null };
    tiles.set(id, t);
    setTileName(t, '');
    layoutGrid();
    video.addEventListener('loadeddata', () => div.classList.add('has-video'));
    const media = remoteMedia.get(id);
    if (media && id !== me) {
      t.stream = media;
      attach(t, media);
    }
    return t;
  }

  function setTileName(t, text) {
    t.name.textContent = text;
    t.avatar.textContent = (text || '?').trim().charAt(0).toUpperCase() || '?';
  }

  function removeTile(id) {
    const t = tiles.get(id);
    if (!t) return;
    t.video.srcObject = null;
    t.el.remove();
    tiles.delete(id);
    layoutGrid();
  }

  function clearTiles() {
    for (const id of [...tiles.keys()]) removeTile(id);
    trackOwner.clear();
    remoteMedia.clear();
  }

  function layoutGrid() {
    const n = Math.max(1, tiles.size);
    const cols = n <= 1 ? 1 : n <= 4 ? 2 : n <= 9 ? 3 : 4;
    el.grid.style.setProperty('--cols', String(cols));
    el.grid.style.setProperty('--rows', String(Math.ceil(n / cols)));
    el.grid.dataset.count = String(n);
  }

  function attach(t, stream) {
    t.video.srcObject = null;
    t.video.srcObject = stream;
    const p = t.video.play();
    if (p && p.catch) p.catch((e) => dbg('video.play:', e));
  }

  function showSelf() {
    if (!me) return;
    const t = ensureTile(me);
    t.el.classList.add('self');
    t.you.hidden = false;
    t.video.muted = true;
    if (!t.name.textContent) setTileName(t, el.name.value.trim());
    if (localStream && t.stream !== localStream) {
      t.stream = localStream;
      attach(t, localStream);
    }
    updateIndicators();
  }

  function updateIndicators() {
    for (const p of roster) {
      const t = tiles.get(p.id);
      if (!t) continue;
      const self = p.id === me;
      const a = self ? muted.audio || !!p.audioMuted : !!p.audioMuted;
      const v = self ? muted.video || !!p.videoMuted : !!p.videoMuted;
      t.micOff.hidden = !a;
      t.camOff.hidden = !v;
      t.el.classList.toggle('audio-muted', a);
      t.el.classList.toggle('video-muted', v);
    }
    if (me && tiles.has(me) && !roster.some((p) => p.id === me)) {
      const t = tiles.get(me);
      t.micOff.hidden = !muted.audio;
      t.camOff.hidden = !muted.video;
      t.el.classList.toggle('audio-muted', muted.audio);
      t.el.classList.toggle('video-muted', muted.video);
    }
  }

  // ---------------------------------------------------------------- remote tracks
  function onTrack(ev) {
    const track = ev.track;
    const stream = ev.streams && ev.streams[0];
    const id = stream ? stream.id : '';
    dbg('ontrack', track.kind, track.id, '->', id || '(no stream id)');
    if (!id || id === '-' || id === 'default') {
      trackOwner.delete(track.id);
      dbg('track without a participant (no msid stream id): not shown');
      return;
    }
    if (id === me) return; // never our own media back
    trackOwner.set(track.id, id);
    // The track may have belonged to someone else before (a reused transceiver).
    for (const [pid, ms] of remoteMedia) {
      if (pid !== id && ms.getTrackById(track.id)) {
        ms.removeTrack(track);
        const other = tiles.get(pid);
        if (other) attach(other, ms);
      }
    }
    let media = remoteMedia.get(id);
    if (!media) {
      media = new MediaStream();
      remoteMedia.set(id, media);
    }
    for (const old of media.getTracks()) {
      if (old.kind === track.kind && old.id !== track.id) media.removeTrack(old);
    }
    if (!media.getTrackById(track.id)) media.addTrack(track);
    const t = ensureTile(id);
    t.stream = media;
    attach(t, media);
    const drop = () => {
      const ms = remoteMedia.get(id);
      if (ms && ms.getTrackById(track.id)) {
        dbg('remote track gone', track.kind, track.id, 'of', id);
        ms.removeTrack(track);
        const cur = tiles.get(id);
        if (cur) {
          if (!ms.getVideoTracks().length) cur.el.classList.remove('has-video');
          attach(cur, ms);
        }
      }
    };
    track.addEventListener('ended', drop);
    if (stream) {
      stream.addEventListener('removetrack', (e) => {
        if (e.track && e.track.id === track.id) drop();
      });
    }
  }

  // ---------------------------------------------------------------- roster, lobby, state
  function applyRoster(list) {
    roster = Array.isArray(list) ? list : [];
    const ids = new Set(roster.map((p) => p.id));
    for (const p of roster) {
      const t = ensureTile(p.id);
      setTileName(t, p.name || p.id);
      t.badge.hidden = p.kind !== 'video_device';
      t.el.classList.toggle('device', p.kind === 'video_device');
    }
    for (const id of [...tiles.keys()]) {
      if (!ids.has(id) && id !== me) removeTile(id);
    }
    if (me) showSelf();
    updateIndicators();
    // Roster order: self first, then the server's order.
    const order = [me, ...roster.map((p) => p.id).filter((id) => id !== me)];
    for (const id of order) {
      const t = tiles.get(id);
      if (t) el.grid.append(t.el);
    }
  }

  function applyLobby(list) {
    lobby = Array.isArray(list) ? list : [];
    el.lobbyList.textContent = '';
    for (const w of lobby) {
      const li = document.createElement('li');
      li.className = 'waiting';
      li.dataset.id = w.id;
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = w.name || w.id;
      const admit = document.createElement('button');
      admit.type = 'button';
      admit.className = 'admit';
      admit.textContent = 'Admit';
      admit.addEventListener('click', () => cvi.admit(w.id));
      const reject = document.createElement('button');
      reject.type = 'button';
      reject.className = 'reject';
      reject.textContent = 'Reject';
      reject.addEventListener('click', () => cvi.reject(w.id));
      const actions = document.createElement('span');
      actions.className = 'actions';
      actions.append(admit, reject);
      li.append(name, actions);
      el.lobbyList.append(li);
    }
    el.lobbyEmpty.hidden = lobby.length > 0;
    el.lobby.classList.toggle('has-waiting', lobby.length > 0);
  }

  function applyState(s) {
    meetingState = { recording: !!s.recording, transcription: !!s.transcription };
    el.recording.checked = meetingState.recording;
    el.transcription.checked = meetingState.transcription;
    const on = [];
    if (meetingState.recording) on.push('Recording');
    if (meetingState.transcription) on.push('Transcription');
    el.noticeText.textContent = on.join(' · ');
    el.notice.hidden = on.length === 0;
  }

  // ---------------------------------------------------------------- signalling
  function send(msg) {
    const s = session;
    if (!s || !s.ws || s.ws.readyState !== WebSocket.OPEN) {
      dbg('not sent (socket not open):', msg.type);
      return false;
    }
    if (msg.type !== 'candidate') dbg('->', msg.type);
    s.ws.send(JSON.stringify(msg));
    return true;
  }

  function wsUrl() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return (
      proto + '//' + location.host + '/meet/' + encodeURIComponent(meetingId) + '/ws' + location.search
    );
  }

  async function handle(s, msg) {
    if (s !== session) return; // a message for a session that is over
    switch (msg.type) {
      case 'joined':
        return onJoined(s, msg);
      case 'answer':
        if (!s.pc) throw new Error('answer before joined');
        if (s.pc.signalingState !== 'have-local-offer') {
          dbg('ignoring answer in state', s.pc.signalingState);
          return;
        }
        await s.pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
        await flushCandidates(s);
        dbg('answer applied');
        return;
      case 'offer': {
        if (!s.pc) throw new Error('offer before joined');
        await s.pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
        await flushCandidates(s);
        const answer = await s.pc.createAnswer();
        await s.pc.setLocalDescription(answer);
        send({ type: 'answer', sdp: s.pc.localDescription.sdp });
        return;
      }
      case 'candidate':
        if (!s.pc) return;
        if (!s.pc.remoteDescription) {
          s.pendingCandidates.push(msg);
          return;
        }
        return addCandidate(s, msg);
      case 'roster':
        return applyRoster(msg.participants);
      case 'lobby':
        return applyLobby(msg.waiting);
      case 'state':
        return applyState(msg);
      case 'error':
        setStatus(msg.message || 'Error', 'error');
        if (!s.joined) {
          // Refused before joining (unknown meeting, bad key…): this attempt is over.
          finish(s, new Error(msg.message || 'error'));
          end(s, 'error before joined');
        }
        return;
      case 'bye':
        setStatus('The meeting ended for you' + (msg.reason ? ': ' + msg.reason : '') + '.', 'warn');
        end(s, 'bye');
        return;
      default:
        dbg('unknown message', msg.type);
    }
  }

  async function addCandidate(s, msg) {
    try {
      await s.pc.addIceCandidate(
        msg.candidate
          ? { candidate: msg.candidate, sdpMid: msg.sdpMid, sdpMLineIndex: msg.sdpMLineIndex }
          : null
      );
    } catch (e) {
      dbg('addIceCandidate failed:', e);
    }
  }

  async function flushCandidates(s) {
    const list = s.pendingCandidates.splice(0);
    for (const c of list) await addCandidate(s, c);
  }

  async function onJoined(s, msg) {
    s.joined = true;
    me = msg.id;
    isHost = !!msg.host;
    const title = (msg.meeting && (msg.meeting.title || msg.meeting.id)) || meetingId;
    el.title.textContent = title;
    document.title = title + ' – Meeting';
    dbg('joined as', me, isHost ? '(host)' : '');
    el.joinPanel.hidden = true;
    el.meeting.hidden = false;
    el.controls.hidden = false;
    el.lobby.hidden = !isHost;
    el.meeting.classList.toggle('with-side', isHost);
    showSelf();
    updateIndicators();

    const pc = new RTCPeerConnection({ iceServers: Array.isArray(msg.iceServers) ? msg.iceServers : [] });
    s.pc = pc;
    pc.ontrack = onTrack;
    pc.onicecandidate = (e) => {
      if (s !== session) return;
      if (e.candidate) {
        send({
          type: 'candidate',
          candidate: e.candidate.candidate,
          sdpMid: e.candidate.sdpMid,
          sdpMLineIndex: e.candidate.sdpMLineIndex,
        });
      } else {
        send({ type: 'candidate', candidate: null });
      }
    };
    pc.onconnectionstatechange = () => {
      if (s !== session) return;
      const st = pc.connectionState;
      dbg('connection', st);
      if (st === 'connected') setStatus(s.receiveOnly ? 'Connected (receive only: no camera or microphone).' : 'Connected.', s.receiveOnly ? 'warn' : 'ok');
      else if (st === 'failed') setStatus('The media connection failed.', 'error');
      else if (st === 'disconnected') setStatus('Media connection interrupted…', 'warn');
    };
    pc.oniceconnectionstatechange = () => dbg('ice', pc.iceConnectionState);

    if (localStream) {
      for (const track of localStream.getTracks()) pc.addTrack(track, localStream);
    } else {
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.addTransceiver('video', { direction: 'recvonly' });
    }
    s.resolve(); // joined: cvi.me, cvi.host are set
    setStatus(s.receiveOnly ? 'Joined (receive only: no camera or microphone). Connecting media…' : 'Joined. Connecting media…', s.receiveOnly ? 'warn' : 'info');
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    send({ type: 'offer', sdp: pc.localDescription.sdp });
  }

  // Settles the join promise of `s` once.
  function finish(s, err) {
    if (s.settled) return;
    s.settled = true;
    if (err) s.rejectJoin(err);
    else s.resolveJoin();
  }

  // Ends session `s` (server bye, socket lost, leave): closes pc and socket, back to the form.
  function end(s, why) {
    if (s !== session) return;
    dbg('session end:', why);
    session = null;
    finish(s, new Error('session ended: ' + why));
    if (s.pc) {
      try {
        s.pc.close();
      } catch (_) {
        /* already closed */
      }
    }
    if (s.ws && s.ws.readyState <= WebSocket.OPEN) {
      try {
        s.ws.close(1000);
      } catch (_) {
        /* already closed */
      }
    }
    stopLocal();
    clearTiles();
    me = null;
    isHost = false;
    roster = [];
    applyLobby([]);
    el.meeting.hidden = true;
    el.controls.hidden = true;
    el.lobby.hidden = true;
    el.joinPanel.hidden = false;
    el.join.disabled = false;
    el.join.textContent = s.joined ? 'Join again' : 'Try again';
  }

  function stopLocal() {
    if (localStream) for (const t of localStream.getTracks()) t.stop();
    localStream = null;
  }

  async function getMedia() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error('this browser (or an insecure page) offers no camera access');
    }
    return navigator.mediaDevices.getUserMedia({
      audio: true,
      video: { width: 1280, height: 720 },
    });
  }

  function join(name) {
    if (session) return session.promise;
    name = String(name == null ? el.name.value : name).trim();
    if (!meetingId) {
      setStatus('No meeting id in the address (expected /meet/<id>).', 'error');
      return Promise.reject(new Error('no meeting id'));
    }
    if (!name) {
      setStatus('Please enter your name.', 'warn');
      el.name.focus();
      return Promise.reject(new Error('no name'));
    }
    el.name.value = name;
    try {
      localStorage.setItem('cvi-meet-name', name);
    } catch (_) {
      /* storage may be disabled */
    }
    const s = { ws: null, pc: null, joined: false, settled: false, receiveOnly: false, pendingCandidates: [], queue: Promise.resolve() };
    s.promise = new Promise((resolve, reject) => {
      s.resolveJoin = resolve;
      s.rejectJoin = reject;
    });
    s.resolve = () => finish(s, null);
    session = s;
    el.join.disabled = true;
    muted.audio = false;
    muted.video = false;
    updateMuteButtons();
    setStatus('Starting camera and microphone…');
    dbg('join', name, 'meeting', meetingId);

    getMedia()
      .then(
        (stream) => {
          localStream = stream;
          dbg('local media:', stream.getTracks().map((t) => t.kind + ':' + t.label).join(', '));
        },
        (e) => {
          s.receiveOnly = true;
          dbg('getUserMedia failed:', e);
          setStatus('No camera/microphone (' + (e.message || e.name) + '): joining receive-only.', 'warn');
        }
      )
      .then(() => {
        if (s !== session) {
          stopLocal();
          return;
        }
        if (!s.receiveOnly) setStatus('Connecting…');
        connect(s, name);
      });
    return s.promise;
  }

  function connect(s, name) {
    let ws;
    try {
      ws = new WebSocket(wsUrl());
    } catch (e) {
      setStatus('Could not connect to the meeting server: ' + e.message, 'error');
      end(s, 'websocket: ' + e.message);
      return;
    }
    s.ws = ws;
    ws.onopen = () => {
      dbg('socket open');
      send({ type: 'join', name });
    };
    ws.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (e) {
        dbg('bad message from the server:', String(ev.data).slice(0, 200));
        return;
      }
      if (msg.type !== 'candidate') dbg('<-', msg.type);
      s.queue = s.queue
        .then(() => handle(s, msg))
        .catch((e) => {
          dbg('handling', msg.type, 'failed:', e);
          if (s === session) setStatus('Error while handling "' + msg.type + '": ' + e.message, 'error');
        });
    };
    ws.onerror = () => dbg('socket error');
    ws.onclose = (ev) => {
      dbg('socket closed', ev.code, ev.reason || '');
      if (s !== session) return;
      if (!s.joined) {
        setStatus(
          'Could not connect to the meeting server' +
            (ev.reason ? ': ' + ev.reason : ' (connection closed, code ' + ev.code + ')') +
            '.',
          'error'
        );
        finish(s, new Error('could not connect (code ' + ev.code + ')'));
      } else {
        setStatus('Connection to the meeting server lost' + (ev.reason ? ': ' + ev.reason : '') + '.', 'error');
      }
      end(s, 'socket closed');
    };
  }

  function leave() {
    const s = session;
    if (!s) return;
    send({ type: 'leave' });
    end(s, 'left');
    setStatus('You left the meeting.');
  }

  // ---------------------------------------------------------------- mute
  function updateMuteButtons() {
    el.muteAudio.setAttribute('aria-pressed', String(muted.audio));
    el.muteAudio.textContent = muted.audio ? 'Unmute' : 'Mute';
    el.muteAudio.classList.toggle('off', muted.audio);
    el.muteVideo.setAttribute('aria-pressed', String(muted.video));
    el.muteVideo.textContent = muted.video ? 'Start video' : 'Stop video';
    el.muteVideo.classList.toggle('off', muted.video);
  }

  function mute(audio, video) {
    muted.audio = !!audio;
    muted.video = !!video;
    if (localStream) {
      for (const t of localStream.getAudioTracks()) t.enabled = !muted.audio;
      for (const t of localStream.getVideoTracks()) t.enabled = !muted.video;
    }
    updateMuteButtons();
    updateIndicators();
    send({ type: 'mute', audio: muted.audio, video: muted.video });
  }

  // ---------------------------------------------------------------- stats
  function blankStats() {
    return {
      framesDecoded: 0,
      framesPerSecond: 0,
      frameWidth: 0,
      frameHeight: 0,
      totalAudioEnergy: 0,
      audioLevel: 0,
      audioCodec: '',
      packetsReceived: 0,
      bytesReceived: 0,
    };
  }

  async function stats() {
    const out = {
      participants: {},
      outbound: { video: { framesEncoded: 0, bytesSent: 0 }, audio: { bytesSent: 0 } },
    };
    for (const p of roster) if (p.id !== me) out.participants[p.id] = blankStats();
    const pc = session && session.pc;
    if (!pc) return out;
    for (const tr of pc.getTransceivers()) {
      // Only transceivers that receive now (an SFU may park old ones as inactive).
      if (tr.stopped || (tr.currentDirection && !tr.currentDirection.includes('recv'))) continue;
      const receiver = tr.receiver;
      const track = receiver.track;
      const id = track && trackOwner.get(track.id);
      if (!id || id === me || !(id in out.participants || tiles.has(id))) continue;
      const p = out.participants[id] || (out.participants[id] = blankStats());
      const report = await receiver.getStats();
      report.forEach((r) => {
        if (r.type !== 'inbound-rtp') return;
        p.packetsReceived += r.packetsReceived || 0;
        p.bytesReceived += r.bytesReceived || 0;
        if (r.kind === 'video') {
          p.framesDecoded += r.framesDecoded || 0;
          p.framesPerSecond = Math.max(p.framesPerSecond, r.framesPerSecond || 0);
          if (r.frameWidth) {
            p.frameWidth = r.frameWidth;
            p.frameHeight = r.frameHeight || 0;
          }
        } else if (r.kind === 'audio') {
          p.totalAudioEnergy += r.totalAudioEnergy || 0;
          p.audioLevel = Math.max(p.audioLevel, r.audioLevel || 0);
          const codec = r.codecId && report.get(r.codecId);
          if (codec && codec.mimeType) p.audioCodec = codec.mimeType;
        }
      });
    }
    const report = await pc.getStats();
    report.forEach((r) => {
      if (r.type !== 'outbound-rtp') return;
      if (r.kind === 'video') {
        out.outbound.video.framesEncoded += r.framesEncoded || 0;
        out.outbound.video.bytesSent += r.bytesSent || 0;
      } else if (r.kind === 'audio') {
        out.outbound.audio.bytesSent += r.bytesSent || 0;
      }
    });
    return out;
  }

  // ---------------------------------------------------------------- host actions
  function hostSend(msg) {
    if (!isHost) dbg('warning: not the host, sending', msg.type, 'anyway');
    return send(msg);
  }

  // ---------------------------------------------------------------- the test/automation surface
  const cvi = {
    join,
    get roster() {
      return roster;
    },
    get me() {
      return me;
    },
    get host() {
      return isHost;
    },
    get state() {
      return meetingState;
    },
    get lobby() {
      return lobby;
    },
    get log() {
      return debugLog;
    },
    get pc() {
      return session ? session.pc : null;
    },
    get meetingId() {
      return meetingId;
    },
    stats,
    admit: (id) => hostSend({ type: 'admit', id }),
    reject: (id) => hostSend({ type: 'reject', id }),
    setRecording: (on) => hostSend({ type: 'recording', on: !!on }),
    setTranscription: (on) => hostSend({ type: 'transcription', on: !!on }),
    mute,
    leave,
  };
  window.cvi = cvi;

  // ---------------------------------------------------------------- wiring
  el.joinForm.addEventListener('submit', (e) => {
    e.preventDefault();
    if (session && !session.joined && !session.settled) return;
    join(el.name.value).catch((err) => dbg('join failed:', err));
  });
  el.muteAudio.addEventListener('click', () => mute(!muted.audio, muted.video));
  el.muteVideo.addEventListener('click', () => mute(muted.audio, !muted.video));
  el.leave.addEventListener('click', leave);
  el.recording.addEventListener('change', () => {
    const want = el.recording.checked;
    el.recording.checked = meetingState.recording; // reflects the server's state only
    cvi.setRecording(want);
  });
  el.transcription.addEventListener('change', () => {
    const want = el.transcription.checked;
    el.transcription.checked = meetingState.transcription;
    cvi.setTranscription(want);
  });
  window.addEventListener('pagehide', () => {
    if (session) send({ type: 'leave' });
  });

  if (!meetingId) {
    setStatus('No meeting id in the address (expected /meet/<id>).', 'error');
    el.join.disabled = true;
  } else {
    el.title.textContent = meetingId;
  }
  try {
    const saved = localStorage.getItem('cvi-meet-name');
    if (saved && !el.name.value) el.name.value = saved;
  } catch (_) {
    /* storage may be disabled */
  }
  const autoName = query.get('name');
  if (autoName && meetingId) {
    el.name.value = autoName;
    join(autoName).catch((err) => dbg('auto-join failed:', err));
  }
  dbg('page ready, meeting', meetingId || '(none)', query.has('host') ? '(host key given)' : '');
})();
