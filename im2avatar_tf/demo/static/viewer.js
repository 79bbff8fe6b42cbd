// A small viewer for the demo's glb files: parses glTF 2.0 binary (POSITION, COLOR_0, indices
// of triangle primitives, as im2avatar_tf/mesh_io.py writes them) and draws the mesh with its
// vertex colors and simple lighting in WebGL. Drag to turn, wheel to zoom, double-click to reset.
//
// The camera looks as the project's turntable renders do (building/camera.py): y up, 20 degrees
// above the horizon, 35 degree field of view, azimuth 30 degrees at first (the azimuth of the
// bundled example views); it is as far as needed for the model's bounding sphere to fit.
//
// After each draw the canvas carries what it shows, for tests and curious users:
// data-state (empty | loading | drawn | error), data-vertices, data-triangles,
// data-colors (vertex | none), data-painted-pixels (pixels that differ from the background).

const GLB_MAGIC = 0x46546c67; // "glTF"
const CHUNK_JSON = 0x4e4f534a;
const CHUNK_BIN = 0x004e4942;
const COMPONENTS = { SCALAR: 1, VEC2: 2, VEC3: 3, VEC4: 4 };
const ARRAYS = { 5120: Int8Array, 5121: Uint8Array, 5122: Int16Array, 5123: Uint16Array,
                 5125: Uint32Array, 5126: Float32Array };
const NORMALIZE = { 5120: 127, 5121: 255, 5122: 32767, 5123: 65535 };
const BACKGROUND = [0.93, 0.94, 0.96];
const DEG = Math.PI / 180;
const FOV = 35 * DEG;  // vertical field of view

// glb -> {positions: Float32Array (3V), colors: Float32Array (3V, linear) or null,
//         indices: Uint32Array (3T)}; every triangle primitive of every mesh, merged.
export function parseGlb(buffer) {
  const view = new DataView(buffer);
  if (buffer.byteLength < 20 || view.getUint32(0, true) !== GLB_MAGIC) {
    throw new Error("not a glb file");
  }
  if (view.getUint32(4, true) !== 2) throw new Error("only glTF 2.0 is supported");
  let json = null, bin = null;
  for (let offset = 12; offset + 8 <= buffer.byteLength;) {
    const length = view.getUint32(offset, true), type = view.getUint32(offset + 4, true);
    const start = offset + 8;
    if (type === CHUNK_JSON) json = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, start, length)));
    if (type === CHUNK_BIN) bin = { buffer, offset: start, length };
    offset = start + length + ((4 - (length % 4)) % 4);
  }
  if (!json || !bin) throw new Error("the glb has no JSON or no binary chunk");

  const positions = [], colors = [], indices = [];
  let count = 0, colored = true;
  for (const mesh of json.meshes || []) {
    for (const primitive of mesh.primitives || []) {
      if ((primitive.mode ?? 4) !== 4 || primitive.attributes.POSITION === undefined) continue;
      const position = readAccessor(json, bin, primitive.attributes.POSITION);
      const n = position.count;
      positions.push(position.values);
      if (primitive.attributes.COLOR_0 !== undefined) {
        const color = readAccessor(json, bin, primitive.attributes.COLOR_0);
        const rgb = new Float32Array(3 * n);
        for (let i = 0; i < n; i++) {
          for (let c = 0; c < 3; c++) rgb[3 * i + c] = color.values[color.size * i + c];
        }
        colors.push(rgb);
      } else {
        colored = false;
        colors.push(new Float32Array(3 * n).fill(0.6));
      }
      const index = primitive.indices !== undefined
        ? readAccessor(json, bin, primitive.indices, false).values
        : Uint32Array.from({ length: n }, (_, i) => i);
      indices.push(Uint32Array.from(index, (i) => i + count));
      count += n;
    }
  }
  if (!count) throw new Error("the glb holds no triangles");
  return { positions: concat(positions, Float32Array), colors: colored ? concat(colors, Float32Array) : null,
           indices: concat(indices, Uint32Array) };
}

function readAccessor(json, bin, index, normalize = true) {
  const accessor = json.accessors[index];
  const size = COMPONENTS[accessor.type];
  const Type = ARRAYS[accessor.componentType];
  if (!size || !Type) throw new Error(`unsupported accessor ${accessor.type}/${accessor.componentType}`);
  const bufferView = json.bufferViews[accessor.bufferView];
  const stride = bufferView.byteStride || size * Type.BYTES_PER_ELEMENT;
  const base = bin.offset + (bufferView.byteOffset || 0) + (accessor.byteOffset || 0);
  const data = new DataView(bin.buffer);
  const values = normalize ? new Float32Array(accessor.count * size) : new Uint32Array(accessor.count * size);
  const scale = normalize && accessor.normalized ? 1 / NORMALIZE[accessor.componentType] : 1;
  const getter = { 5120: "getInt8", 5121: "getUint8", 5122: "getInt16", 5123: "getUint16",
                   5125: "getUint32", 5126: "getFloat32" }[accessor.componentType];
  for (let i = 0; i < accessor.count; i++) {
    for (let c = 0; c < size; c++) {
      values[i * size + c] = data[getter](base + i * stride + c * Type.BYTES_PER_ELEMENT, true) * scale;
    }
  }
  return { values, size, count: accessor.count };
}

function concat(parts, Type) {
  const out = new Type(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) { out.set(p, offset); offset += p.length; }
  return out;
}

// Smooth vertex normals: the area-weighted sum of the adjacent faces' normals.
function vertexNormals(positions, indices) {
  const normals = new Float32Array(positions.length);
  for (let t = 0; t < indices.length; t += 3) {
    const [a, b, c] = [indices[t] * 3, indices[t + 1] * 3, indices[t + 2] * 3];
    const u = [0, 1, 2].map((k) => positions[b + k] - positions[a + k]);
    const v = [0, 1, 2].map((k) => positions[c + k] - positions[a + k]);
    const n = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
    for (const p of [a, b, c]) for (let k = 0; k < 3; k++) normals[p + k] += n[k];
  }
  return normals;
}

const VERTEX_SHADER = `
attribute vec3 aPosition;
attribute vec3 aNormal;
attribute vec3 aColor;
uniform mat4 uViewProjection;
varying vec3 vPosition;
varying vec3 vNormal;
varying vec3 vColor;
void main() {
  vPosition = aPosition;
  vNormal = aNormal;
  vColor = aColor;
  gl_Position = uViewProjection * vec4(aPosition, 1.0);
}`;

// Colors are linear (glTF's COLOR_0): light them, then encode to sRGB for the screen.
const FRAGMENT_SHADER = `
precision mediump float;
uniform vec3 uEye;
uniform vec3 uLight;
varying vec3 vPosition;
varying vec3 vNormal;
varying vec3 vColor;
void main() {
  vec3 toEye = normalize(uEye - vPosition);
  vec3 n = length(vNormal) > 1e-12 ? normalize(vNormal) : toEye;
  if (dot(n, toEye) < 0.0) n = -n;  // double-sided
  float diffuse = max(dot(n, uLight), 0.0);
  vec3 linear = vColor * (0.3 + 0.75 * diffuse);
  gl_FragColor = vec4(pow(clamp(linear, 0.0, 1.0), vec3(1.0 / 2.2)), 1.0);
}`;

export class Viewer {
  constructor(canvas) {
    this.canvas = canvas;
    this.gl = canvas.getContext("webgl2", { antialias: true }) || canvas.getContext("webgl", { antialias: true });
    this.mesh = null;
    this.resetView();
    canvas.dataset.state = "empty";
    if (!this.gl) {
      canvas.dataset.state = "error";
      throw new Error("this browser has no WebGL: download the glb and open it in a 3D viewer");
    }
    if (!(this.gl instanceof WebGL2RenderingContext) && !this.gl.getExtension("OES_element_index_uint")) {
      throw new Error("this browser's WebGL cannot draw large meshes (no 32-bit indices)");
    }
    this.program = this.makeProgram();
    this.listen();
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  resetView() {
    this.azimuth = 30 * DEG;
    this.elevation = 20 * DEG;
    this.zoom = 1;
  }

  // Fetch, parse and show a glb; resolves with {vertices, triangles, colors}.
  async load(url) {
    this.canvas.dataset.state = "loading";
    try {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`could not fetch the model (${response.status})`);
      this.setMesh(parseGlb(await response.arrayBuffer()));
    } catch (error) {
      this.canvas.dataset.state = "error";
      throw error;
    }
    return this.stats();
  }

  setMesh(mesh) {
    const gl = this.gl;
    if (this.mesh) for (const b of Object.values(this.mesh.buffers)) gl.deleteBuffer(b);
    const { positions, colors, indices } = mesh;
    const low = [Infinity, Infinity, Infinity], high = [-Infinity, -Infinity, -Infinity];
    for (let i = 0; i < positions.length; i += 3) {
      for (let k = 0; k < 3; k++) {
        low[k] = Math.min(low[k], positions[i + k]);
        high[k] = Math.max(high[k], positions[i + k]);
      }
    }
    const buffer = (target, data) => {
      const b = gl.createBuffer();
      gl.bindBuffer(target, b);
      gl.bufferData(target, data, gl.STATIC_DRAW);
      return b;
    };
    this.mesh = {
      vertices: positions.length / 3, triangles: indices.length / 3, colored: colors !== null,
      count: true,  // count the painted pixels at the first draw
      center: low.map((l, k) => (l + high[k]) / 2),
      radius: Math.max(Math.hypot(high[0] - low[0], high[1] - low[1], high[2] - low[2]) / 2, 1e-6),
      buffers: {
        position: buffer(gl.ARRAY_BUFFER, positions),
        normal: buffer(gl.ARRAY_BUFFER, vertexNormals(positions, indices)),
        color: buffer(gl.ARRAY_BUFFER, colors || new Float32Array(positions.length).fill(0.6)),
        index: buffer(gl.ELEMENT_ARRAY_BUFFER, indices),
      },
    };
    this.resetView();
    this.draw();
  }

  stats() {
    const m = this.mesh;
    return m ? { vertices: m.vertices, triangles: m.triangles, colors: m.colored ? "vertex" : "none" } : null;
  }

  clear() {
    this.mesh = null;
    this.canvas.dataset.state = "empty";
    for (const key of ["vertices", "triangles", "colors", "paintedPixels"]) delete this.canvas.dataset[key];
    this.draw();
  }

  draw() {
    const gl = this.gl, canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
    gl.viewport(0, 0, width, height);
    gl.clearColor(...BACKGROUND, 1);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    const m = this.mesh;
    if (!m) return;
    const halfFov = Math.min(FOV / 2, Math.atan(Math.tan(FOV / 2) * width / height));
    const distance = 1.1 * m.radius / Math.sin(halfFov) * this.zoom;
    const ce = Math.cos(this.elevation);
    const offset = [ce * Math.sin(this.azimuth), Math.sin(this.elevation), ce * Math.cos(this.azimuth)];
    const eye = m.center.map((c, k) => c + distance * offset[k]);
    const light = normalize([offset[0] - 0.4 * offset[2], offset[1] + 0.8, offset[2] + 0.4 * offset[0]]);
    const projection = perspective(FOV, width / height, distance / 100, distance * 10);
    const viewProjection = multiply(projection, lookAt(eye, m.center, [0, 1, 0]));

    gl.enable(gl.DEPTH_TEST);
    gl.useProgram(this.program.program);
    gl.uniformMatrix4fv(this.program.uniforms.uViewProjection, false, viewProjection);
    gl.uniform3fv(this.program.uniforms.uEye, eye);
    gl.uniform3fv(this.program.uniforms.uLight, light);
    for (const [name, key] of [["aPosition", "position"], ["aNormal", "normal"], ["aColor", "color"]]) {
      const location = this.program.attributes[name];
      gl.bindBuffer(gl.ARRAY_BUFFER, m.buffers[key]);
      gl.enableVertexAttribArray(location);
      gl.vertexAttribPointer(location, 3, gl.FLOAT, false, 0, 0);
    }
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, m.buffers.index);
    gl.drawElements(gl.TRIANGLES, 3 * m.triangles, gl.UNSIGNED_INT, 0);
    Object.assign(canvas.dataset, { state: "drawn", vertices: m.vertices, triangles: m.triangles,
                                    colors: m.colored ? "vertex" : "none" });
    if (m.count) { canvas.dataset.paintedPixels = this.paintedPixels(width, height); m.count = false; }
  }

  // Pixels of the drawing buffer that differ from the background (read before it is shown).
  paintedPixels(width, height) {
    const gl = this.gl, pixels = new Uint8Array(4 * width * height);
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
    const background = BACKGROUND.map((c) => Math.round(c * 255));
    let painted = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      if (Math.abs(pixels[i] - background[0]) + Math.abs(pixels[i + 1] - background[1])
          + Math.abs(pixels[i + 2] - background[2]) > 6) painted++;
    }
    return painted;
  }

  listen() {
    const canvas = this.canvas;
    let last = null;
    canvas.addEventListener("pointerdown", (e) => { last = [e.clientX, e.clientY]; canvas.setPointerCapture(e.pointerId); });
    canvas.addEventListener("pointerup", () => { last = null; });
    canvas.addEventListener("pointermove", (e) => {
      if (!last || !this.mesh) return;
      this.azimuth -= (e.clientX - last[0]) * 0.01;
      this.elevation = Math.max(-85 * DEG, Math.min(85 * DEG, this.elevation + (e.clientY - last[1]) * 0.01));
      last = [e.clientX, e.clientY];
      requestAnimationFrame(() => this.draw());
    });
    canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      this.zoom = Math.max(0.2, Math.min(5, this.zoom * Math.exp(e.deltaY * 0.001)));
      requestAnimationFrame(() => this.draw());
    }, { passive: false });
    canvas.addEventListener("dblclick", () => { this.resetView(); this.draw(); });
  }

  makeProgram() {
    const gl = this.gl;
    const compile = (type, source) => {
      const shader = gl.createShader(type);
      gl.shaderSource(shader, source);
      gl.compileShader(shader);
      if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(shader));
      return shader;
    };
    const program = gl.createProgram();
    gl.attachShader(program, compile(gl.VERTEX_SHADER, VERTEX_SHADER));
    gl.attachShader(program, compile(gl.FRAGMENT_SHADER, FRAGMENT_SHADER));
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(program));
    const attributes = {}, uniforms = {};
    for (const name of ["aPosition", "aNormal", "aColor"]) attributes[name] = gl.getAttribLocation(program, name);
    for (const name of ["uViewProjection", "uEye", "uLight"]) uniforms[name] = gl.getUniformLocation(program, name);
    return { program, attributes, uniforms };
  }
}

// Column-major 4x4 matrices, as WebGL takes them.
function perspective(fovY, aspect, near, far) {
  const f = 1 / Math.tan(fovY / 2), nf = 1 / (near - far);
  return new Float32Array([f / aspect, 0, 0, 0, 0, f, 0, 0, 0, 0, (far + near) * nf, -1, 0, 0, 2 * far * near * nf, 0]);
}

function lookAt(eye, target, up) {
  const z = normalize(eye.map((e, k) => e - target[k]));
  const x = normalize(cross(up, z));
  const y = cross(z, x);
  const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  return new Float32Array([x[0], y[0], z[0], 0, x[1], y[1], z[1], 0, x[2], y[2], z[2], 0,
                           -dot(x, eye), -dot(y, eye), -dot(z, eye), 1]);
}

function multiply(a, b) {
  const out = new Float32Array(16);
  for (let col = 0; col < 4; col++) {
    for (let row = 0; row < 4; row++) {
      let sum = 0;
      for (let k = 0; k < 4; k++) sum += a[k * 4 + row] * b[col * 4 + k];
      out[col * 4 + row] = sum;
    }
  }
  return out;
}

function cross(a, b) {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

function normalize(v) {
  const length = Math.hypot(...v) || 1;
  return v.map((x) => x / length);
}
