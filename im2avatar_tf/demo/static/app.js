// The demo page: fills the model and example lists from /api/info, sends the chosen picture to
// /api/reconstruct and shows the answer (preprocessed input, 3D model, downloads, timings).
// #status carries data-state: loading | idle | busy | ready | error, data-run (how many
// reconstructions were asked for) and after a result data-seconds (upload to viewer, measured
// here) and data-server-seconds.
import { Viewer } from "./viewer.js";

const $ = (id) => document.getElementById(id);
const status = $("status");
let info = null, viewer = null, viewerError = null, source = null, busy = false, runs = 0;

function setStatus(state, text) {
  status.dataset.state = state;
  status.textContent = text;
}

function showWarnings(lines) {
  $("warnings").replaceChildren(...(lines || []).map((line) => {
    const item = document.createElement("li");
    item.textContent = line;
    return item;
  }));
}

function modelChanged() {
  const entry = info.models.find((m) => m.name === $("model").value);
  if (!entry) return;
  $("threshold").value = entry.threshold;
  $("model-info").textContent = entry.description;
}

function choose(next, picture) {
  source = next;
  if (next.example) $("file").value = "";  // so choosing the same file again is a change
  $("chosen").src = picture;
  for (const button of document.querySelectorAll("#examples button")) {
    button.classList.toggle("chosen", button.dataset.example === next.example);
  }
  run();
}

async function run() {
  if (!source || busy) return;
  busy = true;
  $("submit").disabled = true;
  status.dataset.run = ++runs;
  const body = new FormData();
  if (source.file) body.append("image", source.file, source.file.name);
  else body.append("example", source.example);
  for (const id of ["model", "threshold", "geometry"]) body.append(id, $(id).value);
  body.append("crop", $("crop").checked ? "1" : "0");
  body.append("remove_background", $("remove_background").checked ? "1" : "0");
  setStatus("busy", "reconstructing…");
  showWarnings([]);
  const start = performance.now();
  try {
    const response = await fetch("/api/reconstruct", { method: "POST", body });
    let reply;
    try { reply = await response.json(); } catch { reply = { error: `the server answered ${response.status}` }; }
    $("input").src = reply.input || "";
    if (!response.ok || reply.error) {
      viewer?.clear();
      $("downloads").hidden = true;
      setStatus("error", reply.error || `the server answered ${response.status}`);
      return;
    }
    for (const kind of ["glb", "ply", "obj"]) $(`download-${kind}`).href = reply.files[kind];
    $("downloads").hidden = false;
    showWarnings(reply.warnings);
    if (!viewer) throw new Error(viewerError || "no 3D viewer");
    const shown = await viewer.load(reply.files.glb);
    const seconds = (performance.now() - start) / 1000;
    const t = reply.timings;
    status.dataset.seconds = seconds.toFixed(3);
    status.dataset.serverSeconds = reply.seconds;
    setStatus("ready", `ready: ${shown.triangles.toLocaleString("en")} triangles, `
      + `${reply.occupied.toLocaleString("en")} of ${reply.resolution}³ voxels at threshold ${reply.threshold}. `
      + `Upload to viewer ${seconds.toFixed(2)} s (server ${reply.seconds.toFixed(2)} s: networks `
      + `${t.networks.toFixed(2)}, mesh and files ${t.mesh_and_files.toFixed(2)}`
      + (t.load > 0 ? `, loading the model ${t.load.toFixed(2)}` : "") + ").");
  } catch (error) {
    setStatus("error", `${error.message || error}`);
  } finally {
    busy = false;
    $("submit").disabled = false;
  }
}

async function start() {
  try {
    viewer = new Viewer($("viewer"));
  } catch (error) {
    viewerError = error.message;
  }
  try {
    info = await (await fetch("/api/info")).json();
  } catch (error) {
    setStatus("error", `the demo server does not answer: ${error.message}`);
    return;
  }
  for (const model of info.models) $("model").append(new Option(model.name, model.name));
  $("model").addEventListener("change", modelChanged);
  modelChanged();
  for (const name of info.examples) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.example = name;
    button.title = name;
    const image = document.createElement("img");
    image.src = `/examples/${encodeURIComponent(name)}`;
    image.alt = name;
    button.append(image);
    button.addEventListener("click", () => choose({ example: name }, image.src));
    $("examples").append(button);
  }
  $("file").addEventListener("change", () => {
    const file = $("file").files[0];
    if (!file) return;
    if (file.size > info.max_upload) {
      setStatus("error", `${file.name} is ${(file.size / 2 ** 20).toFixed(1)} MiB; the demo takes up to ${(info.max_upload / 2 ** 20).toFixed(0)} MiB`);
      return;
    }
    choose({ file }, URL.createObjectURL(file));
  });
  $("form").addEventListener("submit", (event) => { event.preventDefault(); run(); });
  $("submit").disabled = false;
  setStatus(viewer ? "idle" : "error", viewer ? "pick an example or upload a picture" : viewerError);
}

start();
