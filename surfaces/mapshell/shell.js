// The map page's map, drawn by the page itself rather than by Streamlit (issue 19).
//
// Streamlit needs ~1 s to start, run the script and load its own 3 MB deck.gl chunk before
// st.pydeck_chart can draw; this script starts with the page instead. On the map page it
// loads deck.gl's standalone bundle from this host and draws the first view at once, from
// /api/map/first: the deck the page's script would draw for this URL and account, and the
// panel of the unit's six elements as the script shows it. Streamlit itself (its entry
// module, `data-app`) starts once that first view is drawn: on a 2-core machine drawing in
// software the two share the page's one thread, and Streamlit started beside the map makes
// the first view 1.4-1.6x slower than the map alone. On other pages it starts at once.
// The page's script then speaks to the same map through a small component (bridge/): it
// hands over each new deck, and the map hands back each click. The map lives outside
// Streamlit's React tree, so the camera stays where the user left it whatever the script
// reruns; the first panel goes as soon as the script's own panel is there.
(() => {
  "use strict";
  const me = document.currentScript;
  const HEAD = me.dataset.head || "3.2rem";
  const WAIT_FOR_PAGE_MS = 30000; // no page script claimed the first view: put it away
  const WAIT_FOR_MAP_MS = 3000; // Streamlit starts by then even if tiles are still coming

  const state = {
    deck: null, // the deck.gl Deck, once made
    box: null, // its element, fixed below the page's header
    shown: null, // the deck JSON drawn last
    view: null, // the initialViewState of that JSON, as text
    layers: new Map(), // id → {text: its description, layer: the layer drawn from it}
    bridge: null, // the page script's component: how clicks go back
    clicks: 0,
    pending: null, // a click made before the page's script held the map
    claimed: false,
    panel: null, // the first view's panel, until the script's own is there
    started: false, // Streamlit's entry module added to the page
  };
  let loading = null;

  function load(src) {
    return new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src;
      s.async = false;
      s.onload = resolve;
      s.onerror = () => reject(new Error(`could not load ${src}`));
      document.head.appendChild(s);
    });
  }

  // deck.gl (the global `deck`) then its JSON converter, which adds to that global
  function loadDeck() {
    if (!loading) {
      loading = Promise.all([load(me.dataset.deck), load(me.dataset.json)]).then(() => {
        const classes = {};
        for (const [name, value] of Object.entries(globalThis.deck)) {
          if (typeof value === "function") classes[name] = value;
        }
        const configuration = new globalThis.deck.JSONConfiguration({ classes });
        return new globalThis.deck.JSONConverter({ configuration });
      });
    }
    return loading;
  }

  // pydeck's tooltip {"text": "{name} {code}"}: the picked feature's properties filled in
  function tooltip(spec) {
    if (!spec || !spec.text) return null;
    return ({ object }) => {
      if (!object) return null;
      const props = object.properties || object;
      const text = spec.text.replace(/\{(\w+)\}/g, (_, key) => props[key] ?? "");
      return text.trim() ? { text } : null;
    };
  }

  // A clicked object as the page's script reads it: its properties, never its geometry
  function picked(info) {
    if (!info || !info.object || !info.layer) return null;
    const props = info.object.properties || info.object;
    const plain = {};
    for (const [key, value] of Object.entries(props)) {
      if (value === null || ["string", "number", "boolean"].includes(typeof value)) {
        plain[key] = value;
      }
    }
    state.clicks += 1;
    return { layer: info.layer.id, object: plain, click: state.clicks };
  }

  function makeBox() {
    const box = document.createElement("div");
    box.id = "twin-map";
    box.setAttribute("role", "application");
    box.style.cssText = `position:fixed;top:${HEAD};left:0;right:0;bottom:0;z-index:1;` +
      "background:#e9edf2";
    document.body.appendChild(box);
    return box;
  }

  // Streamlit's own start: its entry module, as its index.html would have added it
  function startApp() {
    if (state.started) return;
    state.started = true;
    const app = document.createElement("script");
    app.type = "module";
    app.crossOrigin = "anonymous"; // as the page's module preloads, so they are used
    app.src = me.dataset.app;
    document.head.appendChild(app);
  }

  // ``then`` once the frame just drawn is on the screen and the page is idle: the finished
  // map is shown before Streamlit's start takes the thread
  function afterFrames(then) {
    const idle = globalThis.requestIdleCallback ?? ((f) => setTimeout(f, 1)); // Safari: none
    requestAnimationFrame(() => requestAnimationFrame(() => idle(then, { timeout: 300 })));
  }

  // Whether the map has drawn every layer it has (their tiles in view included)
  function loaded() {
    const layers = state.deck?.layerManager?.getLayers() ?? [];
    return layers.length > 0 && layers.every((layer) => layer.isLoaded);
  }

  // The first view's panel: the page's panel styles (PANEL_CSS) apply to it
  function showPanel(html) {
    const panel = document.createElement("div");
    panel.id = "twin-first-panel";
    panel.innerHTML = html; // the server's HTML: every text in it escaped there
    document.body.appendChild(panel);
    state.panel = panel;
    const mine = new MutationObserver(() => {
      if (document.querySelector(".st-key-twin-panel")) {
        mine.disconnect();
        dropPanel();
      }
    });
    mine.observe(document.body, { childList: true, subtree: true });
  }

  function dropPanel() {
    if (state.panel) state.panel.remove();
    state.panel = null;
  }

  // A layer described exactly as in the deck before is handed to deck.gl as the same layer,
  // so it keeps what it loaded: converted anew, its options are new objects, and deck.gl
  // would fetch every tile again (the terrain's, on each drill-down).
  function keepUnchanged(specs, layers) {
    const kept = new Map();
    const drawn = layers.map((layer, i) => {
      const text = JSON.stringify(specs[i]);
      const before = layer && state.layers.get(layer.id);
      const same = before && before.text === text ? before.layer : layer;
      if (same) kept.set(same.id, { text, layer: same });
      return same;
    });
    state.layers = kept;
    return drawn;
  }

  // Draw a deck (pydeck's JSON); the camera moves only when the deck's own view changed
  async function draw(json) {
    if (json === state.shown) return;
    const converter = await loadDeck();
    const spec = JSON.parse(json);
    const view = JSON.stringify(spec.initialViewState || null);
    const props = converter.convert(spec);
    state.box = state.box || makeBox();
    const common = {
      layers: keepUnchanged(spec.layers || [], props.layers || []),
      getTooltip: tooltip(spec.tooltip),
      parameters: props.parameters,
    };
    if (!state.deck) {
      state.deck = new globalThis.deck.Deck({
        ...common,
        parent: state.box,
        initialViewState: props.initialViewState,
        controller: true,
        onAfterRender: () => {
          if (state.started || !loaded()) return;
          performance.mark("twin-map-drawn"); // the first view complete: for measuring it
          afterFrames(startApp);
        },
        onClick: (info) => {
          const value = picked(info);
          if (!value) return;
          if (state.bridge) state.bridge(value);
          else state.pending = value; // before the script is up: it gets the click then
        },
      });
    } else if (view !== state.view) {
      state.deck.setProps({ ...common, initialViewState: props.initialViewState });
    } else {
      state.deck.setProps(common);
    }
    state.shown = json;
    state.view = view;
  }

  // The map goes with its page: another page has no map under it, and no canvas of it
  function drop() {
    if (state.deck) state.deck.finalize();
    if (state.box) state.box.remove();
    dropPanel();
    Object.assign(state, { deck: null, box: null, shown: null, view: null, layers: new Map() });
  }

  // The page's component: draw its deck, send it the clicks; `release` when it goes away
  globalThis.twinMap = {
    show(json, send) {
      state.claimed = true;
      setTimeout(dropPanel, 5000); // the script's own panel is there by then, or none is
      state.bridge = send;
      if (state.pending) {
        send(state.pending);
        state.pending = null;
      }
      return draw(json);
    },
    release(send) {
      if (state.bridge !== send) return; // a newer component already holds the map
      state.bridge = null;
      drop();
    },
    get deck() {
      return state.deck;
    },
  };

  const query = new URLSearchParams(location.search);
  const mapPage = !query.has("link") && query.get("screen") !== "1" &&
    [null, "", "map"].includes(query.get("page"));
  if (!mapPage) {
    startApp();
    return;
  }
  loadDeck().catch(() => {}); // in parallel with the first view
  fetch(`${me.dataset.first}${location.search}`, { credentials: "same-origin" })
    .then((r) => (r.status === 200 ? r.json() : null))
    .then((view) => {
      if (!view || state.claimed) return startApp(); // nothing to draw: Streamlit's page
      setTimeout(startApp, WAIT_FOR_MAP_MS);
      if (view.panel) showPanel(view.panel);
      setTimeout(() => { if (!state.claimed) drop(); }, WAIT_FOR_PAGE_MS);
      return draw(view.deck);
    })
    .catch(startApp);
})();
