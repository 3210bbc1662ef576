// skyfence live map: live targets, watched zones, incidents with track replay, and the
// live event feed. Plain JavaScript on top of the vendored MapLibre GL; everything it
// loads comes from this service, so it works on an air-gapped network.
//
// Data (docs/INTERFACES.md, "HTTP API"): /api/tracks polled each second, /api/incidents on load
// and on every event, /api/incidents/{id} for a track, /api/events (Server-Sent Events,
// read with fetch so the bearer token can be sent), /api/zones and /api/map-config from
// the map routes, /map/borders.geojson for the built-in world borders.
'use strict';

(function () {
  const TOKEN_KEY = 'skyfence.api_token';
  const POLL_MS = 1000;
  const TRAIL_POINTS = 40;
  // Above this many targets, trails are dropped to keep a wall screen responsive.
  const TRAILS_MAX_TARGETS = 3000;
  const FEED_MAX = 200;
  const INCIDENTS_MAX = 300;
  const COLORS = {
    aircraft: '#e9f1f7',
    uav: '#c38bff',
    unknown: '#9fb2c2',
    // A sensor's own track of a target that did not identify itself (radar only).
    radar: '#ffa94d',
    operator: '#5ee0c5',
    // A transponder whose broadcast positions the receivers' times of arrival contradict.
    spoof: '#ff3df2',
    alert: '#ff4d3d',
    accent: '#4fb3ff',
    exit: '#3ecf8e',
  };

  // State the headless-browser test reads (crates/skyfence/tests/browser/map_test.mjs).
  const probe = {
    ready: false,
    targets: {},
    trackFeatures: 0,
    zones: 0,
    selectedIncident: null,
    incidents: 0,
    events: 0,
    acks: 0,
    deadLetters: 0,
    // Declared sensors with a site, as drawn: {name: 'up' | 'down'}.
    sensors: {},
    sensorEvents: 0,
    // Targets drawn as suspected spoofers (verification verdict spoof_suspected): keys.
    spoofed: [],
    // The verification line of the selected incident's panel ('' without a verdict).
    verification: '',
    errors: [],
  };
  window.skyfence = probe;

  const $ = (id) => document.getElementById(id);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // ---- API access with the optional bearer token --------------------------------------

  let authWaiters = null;

  function askToken() {
    if (!authWaiters) {
      authWaiters = [];
      const dlg = $('auth');
      $('auth-token').value = '';
      if (!dlg.open) dlg.showModal();
    }
    return new Promise((resolve) => authWaiters.push(resolve));
  }

  $('auth-form').addEventListener('submit', () => {
    const token = $('auth-token').value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    const waiters = authWaiters || [];
    authWaiters = null;
    waiters.forEach((w) => w());
  });

  async function api(path, init) {
    for (;;) {
      const headers = new Headers((init && init.headers) || {});
      const token = sessionStorage.getItem(TOKEN_KEY);
      if (token) headers.set('Authorization', 'Bearer ' + token);
      const res = await fetch(path, Object.assign({}, init, { headers }));
      if (res.status !== 401) return res;
      sessionStorage.removeItem(TOKEN_KEY);
      await askToken();
    }
  }

  async function apiJson(path) {
    const res = await api(path);
    if (!res.ok) throw new Error(path + ': HTTP ' + res.status);
    return res.json();
  }

  // ---- formatting -----------------------------------------------------------------------

  const esc = (s) => String(s == null ? '' : s).replace(/[&<>"']/g, (c) => (
    { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

  function fmtAlt(ft) {
    if (ft == null) return 'alt ?';
    if (ft >= 18000) return 'FL' + String(Math.round(ft / 100)).padStart(3, '0');
    return Math.round(ft).toLocaleString('en-US') + ' ft';
  }

  function fmtTime(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    return isNaN(d) ? '' : d.toISOString().slice(11, 19);
  }

  function fmtDateTime(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    return isNaN(d) ? '' : d.toISOString().slice(0, 19).replace('T', ' ') + 'Z';
  }

  function fmtDuration(s) {
    if (s == null || !isFinite(s)) return '';
    s = Math.round(s);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    return (h ? h + 'h ' : '') + (h || m ? m + 'm ' : '') + sec + 's';
  }

  // A target is keyed by `kind:id` (an ICAO address, a Remote ID and a sensor's track
  // number may look alike); JSON written before `kind`/`id` existed has only `icao24`.
  const targetId = (t) => (t && (t.id || t.icao24)) || '';
  const targetKey = (t) => ((t && t.kind) || 'icao') + ':' + targetId(t);
  const KIND_LABEL = { icao: 'ICAO', remoteid: 'Remote ID', track: 'track' };
  const kindLabel = (t) => KIND_LABEL[(t && t.kind) || 'icao'] || String(t.kind);
  // The label: the callsign when known, else the id as printed (6 hex digits, the Remote ID
  // string, or SENSOR/NUMBER for a sensor track).
  const targetName = (t) => (t && (t.callsign || '').trim()) || targetId(t) || '?';

  // The multilateration verdict on a target's broadcast positions (`verification`), in
  // words: 'spoof suspected · residual 5 898 m · 6 receivers'; '' without one.
  const VERDICT_LABEL = { spoof_suspected: 'spoof suspected', consistent: 'consistent', unverified: 'unverified' };
  const isSpoof = (x) => !!(x && x.verification && x.verification.verdict === 'spoof_suspected');
  function verdictText(v) {
    if (!v || !v.verdict) return '';
    const parts = [VERDICT_LABEL[v.verdict] || String(v.verdict)];
    if (v.receivers > 0) {
      parts.push('residual ' + Math.round(v.residual_m).toLocaleString('en-GB').replace(/,/g, '\u202f') + ' m');
      parts.push(v.receivers + ' receivers');
    }
    return parts.join(' · ');
  }

  // ---- target icons, drawn on a canvas (no sprite sheet to fetch) ----------------------

  function icon(shape, fill, glow) {
    const ratio = 2;
    const size = 28 * ratio;
    const c = document.createElement('canvas');
    c.width = c.height = size;
    const g = c.getContext('2d');
    g.translate(size / 2, size / 2);
    g.scale(ratio, ratio);
    g.lineJoin = 'round';
    g.beginPath();
    if (shape === 'aircraft') {
      g.moveTo(0, -11); g.lineTo(8, 9); g.lineTo(0, 5); g.lineTo(-8, 9); g.closePath();
    } else if (shape === 'uav') {
      g.moveTo(0, -10); g.lineTo(7, 0); g.lineTo(0, 10); g.lineTo(-7, 0); g.closePath();
      g.moveTo(0, -10); g.lineTo(0, -13);
    } else if (shape === 'radar') {
      // A square: a radar plot, no identity of its own.
      g.rect(-6, -6, 12, 12);
    } else {
      g.arc(0, 0, 6, 0, Math.PI * 2);
      g.moveTo(0, -6); g.lineTo(0, -12);
    }
    if (glow) { g.shadowColor = fill; g.shadowBlur = 8; }
    g.fillStyle = fill;
    g.strokeStyle = 'rgba(5,10,15,0.9)';
    g.lineWidth = 1.5;
    g.fill();
    g.shadowBlur = 0;
    g.stroke();
    if (shape !== 'aircraft') {
      g.beginPath();
      g.strokeStyle = fill;
      g.lineWidth = 2;
      g.moveTo(0, shape === 'uav' ? -10 : -6); g.lineTo(0, shape === 'uav' ? -13 : -12);
      g.stroke();
    }
    return { img: g.getImageData(0, 0, size, size), ratio };
  }

  function addIcons(map) {
    for (const cls of ['aircraft', 'uav', 'unknown', 'radar']) {
      const normal = icon(cls, COLORS[cls], false);
      map.addImage(cls, normal.img, { pixelRatio: normal.ratio });
      const alert = icon(cls, COLORS.alert, true);
      map.addImage(cls + '-alert', alert.img, { pixelRatio: alert.ratio });
    }
  }

  // ---- the map ---------------------------------------------------------------------------

  const empty = () => ({ type: 'FeatureCollection', features: [] });

  function style(config) {
    const sources = {
      // Filled in after the map loads, so the live picture never waits for the world.
      borders: { type: 'geojson', data: empty(), attribution: config.attribution || '' },
      zones: { type: 'geojson', data: empty() },
      trails: { type: 'geojson', data: empty() },
      targets: { type: 'geojson', data: empty() },
      track: { type: 'geojson', data: empty() },
      trackpts: { type: 'geojson', data: empty() },
      sensors: { type: 'geojson', data: empty() },
    };
    const layers = [{ id: 'bg', type: 'background', paint: { 'background-color': '#081019' } }];
    if (config.tiles) {
      sources.tiles = {
        type: 'raster', tiles: [config.tiles], tileSize: 256,
        attribution: config.tiles_attribution || '',
      };
      layers.push({ id: 'tiles', type: 'raster', source: 'tiles', paint: { 'raster-opacity': 0.55 } });
    } else {
      layers.push({ id: 'land', type: 'fill', source: 'borders', paint: { 'fill-color': '#142330' } });
    }
    layers.push(
      { id: 'borders', type: 'line', source: 'borders',
        paint: { 'line-color': '#3a5670', 'line-width': ['interpolate', ['linear'], ['zoom'], 2, 0.5, 8, 1.3] } },
      { id: 'zones-fill', type: 'fill', source: 'zones',
        paint: { 'fill-color': ['match', ['get', 'kind'], 'country', '#ff4d3d', '#ffb020'], 'fill-opacity': 0.08 } },
      { id: 'zones-line', type: 'line', source: 'zones',
        paint: {
          'line-color': ['match', ['get', 'kind'], 'country', '#ff4d3d', '#ffb020'],
          'line-width': ['interpolate', ['linear'], ['zoom'], 3, 1.2, 9, 2.5],
          'line-dasharray': [4, 2],
        } },
      { id: 'trails', type: 'line', source: 'trails',
        paint: {
          'line-color': ['case', ['get', 'inside'], COLORS.alert, ['==', ['get', 'cls'], 'uav'], COLORS.uav,
            ['==', ['get', 'cls'], 'radar'], COLORS.radar, '#6f8aa0'],
          'line-width': 1.4, 'line-opacity': 0.6,
        } },
      { id: 'track-line', type: 'line', source: 'track', layout: { 'line-cap': 'round', 'line-join': 'round' },
        filter: ['==', ['coalesce', ['get', 'role'], 'track'], 'track'],
        paint: {
          'line-color': ['case', ['get', 'inside'], COLORS.alert, COLORS.accent],
          'line-width': ['case', ['get', 'inside'], 3.5, 2.5],
        } },
      // A Remote ID drone's operator, joined to where the drone entered the zone.
      { id: 'operator-line', type: 'line', source: 'track',
        filter: ['==', ['get', 'role'], 'operator'],
        paint: { 'line-color': COLORS.operator, 'line-width': 2, 'line-dasharray': [2, 2] } },
      // Where the operator stood over time (incident key operator.track), when they moved.
      { id: 'operator-track', type: 'line', source: 'track', layout: { 'line-join': 'round' },
        filter: ['==', ['get', 'role'], 'operator_track'],
        paint: { 'line-color': COLORS.operator, 'line-width': 2.5 } },
      { id: 'track-pts', type: 'circle', source: 'trackpts',
        paint: {
          'circle-radius': ['match', ['get', 'role'], 'cursor', 7, 6],
          'circle-color': ['match', ['get', 'role'], 'entry', COLORS.alert, 'exit', COLORS.exit,
            'operator', COLORS.operator, '#ffffff'],
          'circle-stroke-color': '#081019', 'circle-stroke-width': 2,
        } },
      // Sensor sites (GET /api/sensors): green while up; a down sensor is a larger red
      // ring around a dark centre, so a coverage gap stands out.
      { id: 'sensors', type: 'circle', source: 'sensors',
        paint: {
          'circle-radius': ['case', ['==', ['get', 'state'], 'down'], 9, 6],
          'circle-color': ['case', ['==', ['get', 'state'], 'down'], '#081019', COLORS.exit],
          'circle-stroke-color': ['case', ['==', ['get', 'state'], 'down'], COLORS.alert, '#081019'],
          'circle-stroke-width': ['case', ['==', ['get', 'state'], 'down'], 3, 2],
        } },
      // A suspected spoofer: a magenta ring around its symbol, wherever it claims to be.
      { id: 'spoof-ring', type: 'circle', source: 'targets', filter: ['==', ['get', 'spoof'], true],
        paint: {
          'circle-radius': 15, 'circle-color': 'rgba(255,61,242,0.12)',
          'circle-stroke-color': COLORS.spoof, 'circle-stroke-width': 2.5,
        } },
      { id: 'targets', type: 'symbol', source: 'targets',
        layout: {
          'icon-image': ['concat', ['get', 'cls'], ['case', ['get', 'inside'], '-alert', '']],
          'icon-rotate': ['get', 'hdg'],
          'icon-rotation-alignment': 'map',
          // Symbols grow with the page's root font size (larger on wall screens, app.css).
          'icon-size': (parseFloat(getComputedStyle(document.documentElement).fontSize) || 14) / 14,
          'icon-allow-overlap': true,
          'icon-ignore-placement': true,
          'symbol-sort-key': ['case', ['get', 'spoof'], 3, ['get', 'inside'], 2, 1],
        } },
    );
    return { version: 8, sources, layers };
  }

  let map = null;
  const state = {
    tracks: [],
    trails: new Map(),
    incidents: [],
    selectedId: null,
    replay: null,
    fitted: false,
  };

  async function loadConfig() {
    try {
      return await apiJson('/api/map-config');
    } catch (e) {
      console.warn('map config unavailable, using defaults:', e.message);
      return {};
    }
  }

  async function start() {
    const config = await loadConfig();
    map = new maplibregl.Map({
      container: 'map',
      style: style(config),
      center: config.center || [20, 25],
      zoom: config.zoom != null ? config.zoom : 2,
      attributionControl: { compact: false },
      maxPitch: 0,
      dragRotate: false,
      fadeDuration: 0,
    });
    window.skyfenceMap = map;
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
    map.addControl(new maplibregl.ScaleControl({ unit: 'nautical' }), 'top-left');
    map.touchZoomRotate.disableRotation();
    map.on('error', (e) => {
      const msg = (e && e.error && e.error.message) || String(e);
      probe.errors.push(msg);
      console.warn('map:', msg);
    });
    await new Promise((resolve) => map.on('load', resolve));
    addIcons(map);
    map.getSource('borders').setData('/map/borders.geojson');
    map.on('render', drawLabels);
    map.on('click', 'targets', (e) => showTargetPopup(e.features[0]));
    map.on('mouseenter', 'targets', () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', 'targets', () => { map.getCanvas().style.cursor = ''; });
    await loadZones(config);
    probe.ready = true;
    pollTracks();
    refreshIncidents();
    setInterval(refreshIncidents, 15000);
    refreshDeadLetters();
    setInterval(refreshDeadLetters, 10000);
    refreshSensors();
    setInterval(refreshSensors, 5000);
    map.on('click', 'sensors', (e) => showSensorPopup(e.features[0]));
    events();
  }

  // ---- sensors ---------------------------------------------------------------------------

  async function refreshSensors() {
    let list;
    try {
      list = await apiJson('/api/sensors');
    } catch (e) {
      console.warn('sensors:', e.message);
      return;
    }
    const features = [];
    const seen = {};
    for (const s of list) {
      if (!s.position) continue;
      seen[s.name] = s.state;
      features.push({
        type: 'Feature',
        geometry: { type: 'Point', coordinates: [s.position.lon, s.position.lat] },
        properties: { name: s.name, type: s.type, state: s.state, last_heard: s.last_heard || '' },
      });
    }
    map.getSource('sensors').setData({ type: 'FeatureCollection', features });
    probe.sensors = seen;
  }

  function showSensorPopup(f) {
    const p = f.properties;
    new maplibregl.Popup({ closeButton: false })
      .setLngLat(f.geometry.coordinates)
      .setHTML('<b>' + esc(p.name) + '</b> · ' + esc(p.type) + ' · <span class="kind sensor_' + esc(p.state) + '">' +
        esc(p.state) + '</span>' + (p.last_heard ? '<br>last heard ' + esc(fmtDateTime(p.last_heard)) : ''))
      .addTo(map);
  }

  // A sensor came up or went down: a line in the feed, the site redrawn.
  function onSensor(name, s) {
    const li = document.createElement('li');
    li.className = 'ev fresh';
    const text = (s.sensor || '?') + ' · ' + (s.type || '') + ' · ' + (name === 'sensor_down' ? 'down' : 'up') +
      (name === 'sensor_down' && s.last_heard ? ' · last heard ' + fmtTime(s.last_heard) : '');
    li.innerHTML = '<time>' + esc(fmtTime(s.at || new Date().toISOString())) + '</time><span class="kind ' + esc(name) +
      '">' + esc(name.replace('_', ' ')) + '</span><span class="text" title="' + esc(text) + '">' + esc(text) + '</span>';
    const feed = $('feed');
    feed.prepend(li);
    while (feed.children.length > FEED_MAX) feed.lastChild.remove();
    probe.events++;
    probe.sensorEvents++;
    $('feed-count').textContent = probe.events;
    refreshSensors();
  }

  async function loadZones(config) {
    let zones;
    try {
      zones = await apiJson('/api/zones');
    } catch (e) {
      console.warn('zones unavailable:', e.message);
      return;
    }
    map.getSource('zones').setData(zones);
    probe.zones = (zones.features || []).length;
    const bounds = bbox(zones.features);
    if (bounds && !(config.center && config.zoom != null)) {
      map.fitBounds(bounds, { padding: 60, duration: 0, maxZoom: 9 });
      state.fitted = true;
    }
  }

  function bbox(features) {
    let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
    const visit = (c) => {
      if (typeof c[0] === 'number') {
        if (c[0] < w) w = c[0]; if (c[0] > e) e = c[0];
        if (c[1] < s) s = c[1]; if (c[1] > n) n = c[1];
      } else c.forEach(visit);
    };
    for (const f of features) if (f.geometry) visit(f.geometry.coordinates);
    return isFinite(w) ? [[w, s], [e, n]] : null;
  }

  // ---- live targets ----------------------------------------------------------------------

  async function pollTracks() {
    for (;;) {
      try {
        const tracks = await apiJson('/api/tracks');
        updateTracks(Array.isArray(tracks) ? tracks : (tracks.tracks || []));
      } catch (e) {
        console.warn('tracks:', e.message);
      }
      await sleep(POLL_MS);
    }
  }

  function updateTracks(tracks) {
    const live = tracks.filter((t) => t.lat != null && t.lon != null);
    state.tracks = live;
    const seen = new Set();
    const feats = [];
    const trailFeats = [];
    const positions = {};
    let uav = 0, inside = 0;
    const spoofed = [];
    for (const t of live) {
      // A radar's own track (no transponder, no Remote ID) is drawn apart from those that
      // identified themselves, whatever its class.
      const cls = t.kind === 'track' && t.classification !== 'uav' && t.classification !== 'aircraft'
        ? 'radar'
        : t.classification === 'uav' || t.classification === 'aircraft' ? t.classification : 'unknown';
      const isInside = Array.isArray(t.zones) && t.zones.length > 0;
      if (cls === 'uav') uav++;
      if (isInside) inside++;
      const key = targetKey(t);
      seen.add(key);
      positions[key] = [t.lon, t.lat];
      const spoof = isSpoof(t);
      if (spoof) spoofed.push(key);
      feats.push({
        type: 'Feature',
        geometry: { type: 'Point', coordinates: [t.lon, t.lat] },
        properties: { key, cls, inside: isInside, spoof, hdg: t.track_deg == null ? 0 : t.track_deg },
      });
      let trail = state.trails.get(key);
      if (!trail) { trail = []; state.trails.set(key, trail); }
      const last = trail[trail.length - 1];
      if (!last || last[0] !== t.lon || last[1] !== t.lat) trail.push([t.lon, t.lat]);
      if (trail.length > TRAIL_POINTS) trail.shift();
      if (trail.length > 1 && live.length <= TRAILS_MAX_TARGETS) {
        trailFeats.push({
          type: 'Feature',
          geometry: { type: 'LineString', coordinates: trail.slice() },
          properties: { cls, inside: isInside },
        });
      }
    }
    for (const k of state.trails.keys()) if (!seen.has(k)) state.trails.delete(k);
    map.getSource('targets').setData({ type: 'FeatureCollection', features: feats });
    map.getSource('trails').setData({ type: 'FeatureCollection', features: trailFeats });
    probe.targets = positions;
    probe.spoofed = spoofed;
    $('stat-targets').textContent = live.length;
    $('stat-uav').textContent = uav;
    $('stat-inside').textContent = inside;
    if (!state.fitted && live.length) {
      const b = bbox(feats);
      map.fitBounds(b, { padding: 80, duration: 0, maxZoom: 8 });
      state.fitted = true;
    }
    map.triggerRepaint();
  }

  // Callsign and altitude beside each target, drawn on a canvas over the map: MapLibre
  // text labels would need glyph files, which an air-gapped room cannot fetch.
  function drawLabels() {
    const canvas = $('labels');
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth, h = canvas.clientHeight;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    const g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const rootPx = parseFloat(getComputedStyle(document.documentElement).fontSize) || 14;
    const fontPx = Math.round(rootPx * 0.8);
    g.font = '600 ' + fontPx + 'px system-ui, "DejaVu Sans", sans-serif';
    g.textBaseline = 'top';
    const dense = state.tracks.length > 400;
    const taken = [];
    const sorted = state.tracks.slice().sort((a, b) => (b.zones && b.zones.length ? 1 : 0) - (a.zones && a.zones.length ? 1 : 0));
    for (const t of sorted) {
      const inside = Array.isArray(t.zones) && t.zones.length > 0;
      if (dense && !inside) continue;
      const p = map.project([t.lon, t.lat]);
      if (p.x < -50 || p.y < -50 || p.x > w + 50 || p.y > h + 50) continue;
      const x = p.x + 13, y = p.y - fontPx;
      const lh = fontPx + 2;
      const line1 = targetName(t);
      const line2 = fmtAlt(t.alt_ft) + (t.gs_kt != null ? '  ' + Math.round(t.gs_kt) + 'kt' : '');
      const width = Math.max(g.measureText(line1).width, g.measureText(line2).width);
      // Skip a label that would cover one already drawn, or its own neighbour's symbol.
      const box = [x - 14, y - 1, x + width + 2, y + lh * 2 + 1];
      if (taken.some((b) => box[0] < b[2] && box[2] > b[0] && box[1] < b[3] && box[3] > b[1])) continue;
      taken.push(box);
      g.lineWidth = 3;
      g.strokeStyle = 'rgba(8,16,25,0.85)';
      g.fillStyle = isSpoof(t) ? COLORS.spoof : inside ? COLORS.alert
        : (t.classification === 'uav' ? COLORS.uav : (t.kind === 'track' ? COLORS.radar : '#dfe8ef'));
      g.strokeText(line1, x, y); g.fillText(line1, x, y);
      g.fillStyle = inside ? '#ff9a8f' : '#8ea4b6';
      g.font = fontPx - 1 + 'px system-ui, "DejaVu Sans", sans-serif';
      g.strokeText(line2, x, y + lh); g.fillText(line2, x, y + lh);
      g.font = '600 ' + fontPx + 'px system-ui, "DejaVu Sans", sans-serif';
    }
  }

  function showTargetPopup(feature) {
    const t = state.tracks.find((x) => targetKey(x) === feature.properties.key);
    if (!t) return;
    const rows = [
      [kindLabel(t), targetId(t)],
      ['class', t.classification],
      ['altitude', fmtAlt(t.alt_ft)],
      ['speed', t.gs_kt != null ? Math.round(t.gs_kt) + ' kt' : '—'],
      ['heading', t.track_deg != null ? Math.round(t.track_deg) + '°' : '—'],
      ['position', t.lat.toFixed(4) + ', ' + t.lon.toFixed(4)],
      ['inside', (t.zones && t.zones.length) ? t.zones.join(', ') : '—'],
      ['last seen', fmtTime(t.last_seen_at)],
    ];
    // What the receivers' times of arrival say of the positions it broadcast.
    if (t.verification) rows.push(['verification', verdictText(t.verification)]);
    new maplibregl.Popup({ closeButton: true, maxWidth: '22rem' })
      .setLngLat([t.lon, t.lat])
      .setHTML('<div class="pop' + (isSpoof(t) ? ' spoof' : '') + '"><h4>' + esc(targetName(t)) +
        (isSpoof(t) ? ' <span class="badge spoof">SPOOF?</span>' : '') + '</h4><table>' +
        rows.map((r) => '<tr><td>' + esc(r[0]) + '</td><td>' + esc(r[1]) + '</td></tr>').join('') +
        '</table></div>')
      .addTo(map);
  }

  // ---- incidents and replay ----------------------------------------------------------------

  let incidentsBusy = false;
  let incidentsAgain = false;

  async function refreshIncidents() {
    if (incidentsBusy) { incidentsAgain = true; return; }
    incidentsBusy = true;
    try {
      do {
        incidentsAgain = false;
        const status = $('inc-filter').value;
        const list = await apiJson('/api/incidents' + (status ? '?status=' + encodeURIComponent(status) : ''));
        state.incidents = (Array.isArray(list) ? list : []).slice(0, INCIDENTS_MAX);
        renderIncidents();
      } while (incidentsAgain);
    } catch (e) {
      console.warn('incidents:', e.message);
    } finally {
      incidentsBusy = false;
    }
  }

  function renderIncidents() {
    const ol = $('incidents');
    const items = state.incidents.map((inc) => {
      const li = document.createElement('li');
      li.className = 'inc' + (inc.id === state.selectedId ? ' selected' : '');
      li.dataset.id = inc.id;
      li.dataset.status = inc.status;
      li.dataset.reports = inc.reports == null ? 0 : inc.reports;
      const t = inc.target || {};
      const auth = inc.authorised
        ? '<span class="badge auth">authorised</span>'
        : '<span class="badge unauth">unauthorised</span>';
      let uav = inc.classification === 'uav' ? '<span class="badge uav">UAV</span>' : '';
      // Who saw it: a radar alone (no transponder, no Remote ID), or a drone naming its operator.
      if (inc.cooperative === false) {
        uav += '<span class="badge radar" title="' + esc('seen by ' + (inc.sensors || []).join(', ')) +
          '">radar only</span>';
      }
      // Its broadcast positions contradicted by the receivers' times of arrival.
      li.dataset.verdict = (inc.verification && inc.verification.verdict) || '';
      if (isSpoof(inc)) {
        uav += '<span class="badge spoof" title="' + esc('broadcast positions: ' + verdictText(inc.verification)) +
          '">spoof?</span>';
      }
      if (inc.operator && inc.operator.lat != null) {
        uav += '<span class="badge operator" title="' + esc('operator ' + (inc.operator.id || '') + ' at ' +
          inc.operator.lat.toFixed(4) + ', ' + inc.operator.lon.toFixed(4)) + '">operator</span>';
      }
      // Acknowledged (extension field `acknowledged`): a marker naming who.
      const acks = Array.isArray(inc.acks) ? inc.acks : [];
      li.dataset.acked = inc.acknowledged ? '1' : '0';
      const acked = inc.acknowledged
        ? '<span class="badge acked" title="' + esc('acknowledged by ' + (acks[0] ? acks[0].operator : '?') +
          (acks.length > 1 ? ' · ' + (acks.length - 1) + ' note(s)' : '')) + '">ACK</span>'
        : '';
      li.innerHTML =
        '<span class="pill ' + esc(inc.status) + '">' + esc(inc.status) + '</span>' +
        '<span class="who">' + esc(targetName(t)) + (t.callsign ? '<small>' + esc(targetId(t)) + '</small>' : '') + '</span>' +
        '<span class="when" title="' + esc(fmtDateTime(inc.entered_at)) + '">' + esc(fmtTime(inc.entered_at)) + '</span>' +
        '<span class="meta"><span class="zone">' + esc(inc.zone) + '</span>' + uav + auth + acked +
        '<span>' + esc(fmtDuration(inc.duration_s)) + '</span>' +
        (inc.max_alt_ft != null ? '<span>' + esc(fmtAlt(inc.max_alt_ft)) + '</span>' : '') + '</span>';
      li.addEventListener('click', () => selectIncident(inc.id));
      return li;
    });
    ol.replaceChildren(...items);
    $('inc-count').textContent = state.incidents.length;
    $('stat-open').textContent = state.incidents.filter((i) => i.status === 'open').length;
    probe.incidents = state.incidents.length;
  }

  $('inc-filter').addEventListener('change', refreshIncidents);

  async function selectIncident(id) {
    state.selectedId = id;
    renderIncidents();
    let inc;
    try {
      inc = await apiJson('/api/incidents/' + encodeURIComponent(id));
    } catch (e) {
      console.warn('incident ' + id + ':', e.message);
      return;
    }
    if (state.selectedId !== id) return;
    const positions = (inc.positions || [])
      .filter((p) => p.lat != null && p.lon != null)
      .map((p) => ({ t: Date.parse(p.at), lon: p.lon, lat: p.lat, alt: p.alt_ft }))
      .filter((p) => isFinite(p.t))
      .sort((a, b) => a.t - b.t);
    const entry = Date.parse(inc.entered_at);
    const exit = inc.exited_at ? Date.parse(inc.exited_at) : Infinity;
    // Split the line where the target was inside the zone, so that part is drawn in alert colour.
    const feats = [];
    let run = null;
    for (let i = 0; i < positions.length; i++) {
      const p = positions[i];
      const inside = p.t >= entry && p.t <= exit;
      if (!run || run.inside !== inside) {
        const start = run ? [run.coords[run.coords.length - 1]] : [];
        run = { inside, coords: start };
        feats.push(run);
      }
      run.coords.push([p.lon, p.lat]);
    }
    const track = {
      type: 'FeatureCollection',
      features: feats.filter((r) => r.coords.length > 1).map((r) => ({
        type: 'Feature', geometry: { type: 'LineString', coordinates: r.coords }, properties: { inside: r.inside },
      })),
    };
    const op = inc.operator;
    if (op && op.lat != null && op.lon != null && inc.entry) {
      track.features.push({
        type: 'Feature',
        geometry: { type: 'LineString', coordinates: [[op.lon, op.lat], [inc.entry.lon, inc.entry.lat]] },
        properties: { inside: false, role: 'operator' },
      });
    }
    const opTrack = op && Array.isArray(op.track) ? op.track.filter((p) => p.lat != null && p.lon != null) : [];
    if (opTrack.length > 1) {
      track.features.push({
        type: 'Feature',
        geometry: { type: 'LineString', coordinates: opTrack.map((p) => [p.lon, p.lat]).concat([[op.lon, op.lat]]) },
        properties: { inside: false, role: 'operator_track' },
      });
    }
    probe.operator = op && op.lat != null ? [op.lon, op.lat] : null;
    probe.operatorTrack = opTrack.length;
    map.getSource('track').setData(track);
    state.replay = { inc, positions, pts: [], idx: 0, playing: false, t: positions.length ? positions[0].t : 0 };
    if (inc.entry) state.replay.pts.push(point(inc.entry.lon, inc.entry.lat, 'entry'));
    if (inc.exit) state.replay.pts.push(point(inc.exit.lon, inc.exit.lat, 'exit'));
    if (op && op.lat != null && op.lon != null) state.replay.pts.push(point(op.lon, op.lat, 'operator'));
    probe.trackFeatures = track.features.length;
    probe.selectedIncident = id;
    const b = bbox(track.features.concat(state.replay.pts));
    if (b) map.fitBounds(b, { padding: { top: 60, bottom: 170, left: 60, right: 60 }, maxZoom: 8, duration: 600 });
    const t = inc.target || {};
    $('replay-title').textContent = targetName(t) + ' · ' + inc.zone + ' · ' + inc.status;
    const vt = inc.verification ? 'broadcast positions: ' + verdictText(inc.verification) : '';
    $('replay-verification').textContent = vt;
    $('replay-verification').hidden = !vt;
    $('replay-verification').classList.toggle('spoof', isSpoof(inc));
    probe.verification = vt;
    const slider = $('replay-slider');
    slider.max = Math.max(0, positions.length - 1);
    slider.value = 0;
    $('replay').hidden = false;
    setReplayIndex(0);
    renderAcks(inc);
  }

  // ---- acknowledgements (POST /api/incidents/{id}/ack) ------------------------------

  const OPERATOR_KEY = 'skyfence.operator';
  $('ack-operator').value = localStorage.getItem(OPERATOR_KEY) || '';

  function renderAcks(inc) {
    const acks = Array.isArray(inc.acks) ? inc.acks : [];
    const items = acks.map((a, i) => {
      const li = document.createElement('li');
      li.className = i === 0 ? 'first' : 'note';
      li.innerHTML = '<time title="' + esc(fmtDateTime(a.at)) + '">' + esc(fmtTime(a.at)) + '</time>' +
        '<span class="op">' + esc(a.operator) + '</span>' +
        '<span class="text">' + esc(a.note || (i === 0 ? 'acknowledged' : '')) + '</span>';
      return li;
    });
    $('ack-list').replaceChildren(...items);
    $('ack-submit').textContent = acks.length ? 'Add note' : 'Acknowledge';
    $('ack-error').hidden = true;
    probe.acks = acks.length;
  }

  $('ack-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = state.replay;
    if (!r) return;
    const id = r.inc.id;
    const operator = $('ack-operator').value.trim();
    const note = $('ack-note').value.trim();
    if (!operator) return;
    localStorage.setItem(OPERATOR_KEY, operator);
    $('ack-submit').disabled = true;
    try {
      const res = await api('/api/incidents/' + encodeURIComponent(id) + '/ack', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ operator, note }),
      });
      if (res.status !== 201) {
        let msg = 'HTTP ' + res.status;
        try { msg = (await res.json()).error || msg; } catch (_) { /* not JSON */ }
        throw new Error(msg);
      }
      $('ack-note').value = '';
      const inc = await apiJson('/api/incidents/' + encodeURIComponent(id));
      if (state.replay && state.replay.inc.id === id) {
        state.replay.inc.acks = inc.acks;
        renderAcks(inc);
      }
      refreshIncidents();
    } catch (err) {
      $('ack-error').textContent = 'not stored: ' + err.message;
      $('ack-error').hidden = false;
    } finally {
      $('ack-submit').disabled = false;
    }
  });

  // ---- alerts a sink gave up on (GET /api/alerts; the panel stays hidden without them) -------

  let alertsRoute = true;

  async function refreshDeadLetters() {
    if (!alertsRoute) return;
    let body;
    try {
      const res = await api('/api/alerts');
      // An older service without alert delivery: stop asking.
      if (res.status === 404 || res.status === 405) { alertsRoute = false; return; }
      if (!res.ok) return;
      body = await res.json();
    } catch (e) {
      return;
    }
    const items = [];
    for (const sink of (body && Array.isArray(body.sinks) ? body.sinks : [])) {
      for (const d of (Array.isArray(sink.dead_letters) ? sink.dead_letters : [])) {
        const li = document.createElement('li');
        li.innerHTML = esc(sink.name) + ' · ' + esc(d.event) + (d.incident_id ? ' · ' + esc(d.incident_id) : '') +
          '<small>' + esc(d.attempts) + ' attempts, last ' + esc(fmtDateTime(d.last_attempt_at)) + ': ' +
          esc(d.last_error) + '</small>';
        if (d.incident_id) li.addEventListener('click', () => selectIncident(d.incident_id));
        // Ask the sink to try again (POST /api/alerts/dead/{sink}/{seq}/retry).
        const retry = document.createElement('button');
        retry.className = 'retry';
        retry.textContent = d.retrying ? 'retrying…' : 'retry';
        retry.disabled = !!d.retrying;
        retry.addEventListener('click', async (ev) => {
          ev.stopPropagation();
          retry.disabled = true;
          retry.textContent = 'retrying…';
          try {
            await api('/api/alerts/dead/' + encodeURIComponent(sink.name) + '/' + encodeURIComponent(d.seq) + '/retry',
              { method: 'POST' });
          } catch (e) { /* shown as still undelivered at the next refresh */ }
          refreshDeadLetters();
        });
        li.appendChild(retry);
        items.push(li);
      }
    }
    $('dead-letters').replaceChildren(...items);
    $('dl-count').textContent = items.length;
    $('alerts-panel').hidden = items.length === 0;
    probe.deadLetters = items.length;
  }

  function point(lon, lat, role) {
    return { type: 'Feature', geometry: { type: 'Point', coordinates: [lon, lat] }, properties: { role } };
  }

  function setReplayIndex(i) {
    const r = state.replay;
    if (!r) return;
    r.idx = i;
    const p = r.positions[i];
    const pts = r.pts.slice();
    if (p) {
      pts.push(point(p.lon, p.lat, 'cursor'));
      r.t = p.t;
      const inc = r.inc;
      const since = (p.t - Date.parse(inc.entered_at)) / 1000;
      $('replay-info').textContent = fmtDateTime(new Date(p.t).toISOString()) + '  ·  ' + fmtAlt(p.alt) +
        '  ·  ' + (since >= 0 ? 'T+' + fmtDuration(since) : 'T−' + fmtDuration(-since)) +
        '  ·  ' + (i + 1) + '/' + r.positions.length + ' reports';
    } else {
      $('replay-info').textContent = 'no positions stored for this incident';
    }
    $('replay-slider').value = i;
    map.getSource('trackpts').setData({ type: 'FeatureCollection', features: pts });
  }

  function play() {
    const r = state.replay;
    if (!r || !r.positions.length) return;
    if (r.idx >= r.positions.length - 1) setReplayIndex(0);
    r.playing = true;
    $('replay-play').textContent = '❚❚';
    let last = performance.now();
    const step = (now) => {
      if (!r.playing || state.replay !== r) return;
      r.t += (now - last) * Number($('replay-speed').value);
      last = now;
      let i = r.idx;
      while (i < r.positions.length - 1 && r.positions[i + 1].t <= r.t) i++;
      if (i !== r.idx) setReplayIndex(i);
      if (i >= r.positions.length - 1) { pause(); return; }
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  }

  function pause() {
    if (state.replay) state.replay.playing = false;
    $('replay-play').textContent = '▶';
  }

  $('replay-play').addEventListener('click', () => (state.replay && state.replay.playing ? pause() : play()));
  $('replay-slider').addEventListener('input', (e) => { pause(); setReplayIndex(Number(e.target.value)); });
  $('replay-close').addEventListener('click', () => {
    pause();
    state.replay = null;
    state.selectedId = null;
    probe.trackFeatures = 0;
    probe.selectedIncident = null;
    map.getSource('track').setData(empty());
    map.getSource('trackpts').setData(empty());
    $('replay').hidden = true;
    renderIncidents();
  });

  // ---- live events (Server-Sent Events over fetch, so the token header can be sent) --------

  function setLink(up) {
    const el = $('link');
    el.className = 'link ' + (up ? 'up' : 'down');
    el.textContent = up ? 'live' : 'reconnecting';
  }

  async function events() {
    let backoff = 1000;
    // The last event id seen: a reconnect asks the service to replay what it missed
    // (Last-Event-ID, as EventSource would send it).
    let lastId = null;
    for (;;) {
      try {
        const headers = { Accept: 'text/event-stream' };
        if (lastId !== null) headers['Last-Event-ID'] = lastId;
        const res = await api('/api/events', { headers });
        if (!res.ok || !res.body) throw new Error('HTTP ' + res.status);
        setLink(true);
        backoff = 1000;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value.replace(/\r\n?/g, '\n');
          let cut;
          while ((cut = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            let name = 'message';
            const data = [];
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) continue;
              const colon = line.indexOf(':');
              const field = colon < 0 ? line : line.slice(0, colon);
              const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
              if (field === 'event') name = val;
              else if (field === 'data') data.push(val);
              else if (field === 'id' && !val.includes('\0')) lastId = val;
            }
            if (data.length) onEvent(name, data.join('\n'));
          }
        }
      } catch (e) {
        console.warn('events:', e.message);
      }
      setLink(false);
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 30000);
    }
  }

  function onEvent(name, raw) {
    let data;
    try { data = JSON.parse(raw); } catch (e) { data = { text: raw }; }
    if (name === 'ack') { onAck(data); return; }
    if (name === 'sensor_up' || name === 'sensor_down') { onSensor(name, data); return; }
    // The payload is the incident, or the target for `approach`; accept a wrapper too.
    const body = data.incident || data.target_event || data;
    const target = body.target || body;
    const who = targetName(target);
    const zone = body.zone || (Array.isArray(body.zones) ? body.zones.join(', ') : '');
    let text = who + (zone ? ' · ' + zone : '');
    if (name === 'approach' && body.distance_m != null) text += ' · ' + (body.distance_m / 1852).toFixed(1) + ' NM';
    if (name === 'confirmed' && body.classification === 'uav') text += ' · UAV';
    const at = body.at || body.entered_at || body.last_seen_at || new Date().toISOString();
    const li = document.createElement('li');
    li.className = 'ev fresh';
    li.innerHTML = '<time>' + esc(fmtTime(at)) + '</time><span class="kind ' + esc(name) + '">' + esc(name) +
      '</span><span class="text" title="' + esc(text) + '">' + esc(text) + '</span>';
    if (body.id && body.zone) li.addEventListener('click', () => selectIncident(body.id));
    const feed = $('feed');
    feed.prepend(li);
    while (feed.children.length > FEED_MAX) feed.lastChild.remove();
    probe.events++;
    $('feed-count').textContent = probe.events;
    if (name === 'confirmed' || name === 'closed' || name === 'lost') refreshIncidents();
    if (state.selectedId && body.id === state.selectedId && name !== 'approach') selectIncident(body.id);
  }

  // An operator (here or elsewhere) acknowledged an incident or added a note.
  function onAck(a) {
    const li = document.createElement('li');
    li.className = 'ev fresh';
    const text = (a.operator || '?') + ' · ' + (a.kind === 'note' ? 'note' : 'acknowledged') +
      (a.note ? ' · ' + a.note : '');
    li.innerHTML = '<time>' + esc(fmtTime(a.at || new Date().toISOString())) + '</time><span class="kind ack">ack</span>' +
      '<span class="text" title="' + esc(text) + '">' + esc(text) + '</span>';
    if (a.incident_id) li.addEventListener('click', () => selectIncident(a.incident_id));
    const feed = $('feed');
    feed.prepend(li);
    while (feed.children.length > FEED_MAX) feed.lastChild.remove();
    probe.events++;
    $('feed-count').textContent = probe.events;
    refreshIncidents();
    const r = state.replay;
    if (r && r.inc.id === a.incident_id) {
      apiJson('/api/incidents/' + encodeURIComponent(a.incident_id)).then((inc) => {
        if (state.replay === r) { r.inc.acks = inc.acks; renderAcks(inc); }
      }).catch((e) => console.warn('incident ' + a.incident_id + ':', e.message));
    }
  }

  // ---- clock ---------------------------------------------------------------------------------

  setInterval(() => { $('clock').textContent = new Date().toISOString().slice(11, 19) + ' UTC'; }, 1000);

  start().catch((e) => {
    probe.errors.push(String(e && e.message || e));
    console.error('skyfence map failed to start:', e);
  });
})();
