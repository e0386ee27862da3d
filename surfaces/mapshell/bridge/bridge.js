// The map page's component (surfaces/map.py): hands each deck the script draws to the map
// the page itself holds (../shell.js, globalThis.twinMap of the page), and each click on
// that map back to the script as this component's value. Streamlit's component protocol,
// spoken directly (streamlit-component-lib's messages, without its React wrapper).
(() => {
  "use strict";
  const tell = (type, extra) =>
    window.parent.postMessage({ isStreamlitMessage: true, type, ...extra }, "*");
  const send = (value) => tell("streamlit:setComponentValue", { value, dataType: "json" });

  window.addEventListener("message", (event) => {
    if (event.source !== window.parent || !event.data) return;
    if (event.data.type !== "streamlit:render") return;
    const map = window.parent.twinMap;
    if (map) map.show(event.data.args.deck, send);
  });
  // the script drew another page (or this element went away): the page's map goes too
  window.addEventListener("pagehide", () => window.parent.twinMap?.release(send));
  tell("streamlit:componentReady", { apiVersion: 1 });
  tell("streamlit:setFrameHeight", { height: 0 });
})();
