import * as library from 'mobilenetv2-tfjs';
import {
  backendInfo, type BackendName, datasetMetadata, fromPixels, type ModelMetadata, mobileNetV2Mnist, pixelDataset,
  readModelMetadata, rebuildWithHead, setThreadsCount, tensorDataset, tf, train, useBackend,
} from 'mobilenetv2-tfjs';
import { drawBars, drawLoss } from './charts.js';
import { drawingPad, mnistStyle } from './pad.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);

/** What the page has done, for people (the UI) and for the browser tests and benchmark (window.demo). */
const state = {
  ready: false,
  backend: '',
  threads: 1,
  crossOriginIsolated: globalThis.crossOriginIsolated === true,
  /** The latest classification of each pad: the 28×28 [0, 1] pixels the model saw and its output. */
  draw: null as Prediction | null,
  teach: null as Prediction | null,
  /** Loss of every fine-tuning step, and tf.memory().numTensors after it. */
  losses: [] as number[],
  tensorsAfterStep: [] as number[],
  imagesPerSec: 0,
  training: false,
  trained: false,
  error: null as string | null,
};

interface Prediction {
  pixels: number[];
  probabilities: number[];
  label: string;
}

interface TeachClass {
  name: string;
  examples: HTMLCanvasElement[];
}

/** Yields to the browser so it can paint, without setTimeout's 4 ms clamp. */
const nextTask = () => new Promise<void>((resolve) => {
  const channel = new MessageChannel();
  channel.port1.onmessage = () => resolve();
  channel.port2.postMessage(0);
});

function classify(model: tf.LayersModel, meta: ModelMetadata, input: HTMLCanvasElement): Prediction {
  return tf.tidy(() => {
    const pixels = fromPixels(input, { size: [28, 28], channels: 1 });
    const x = pixels.sub(tf.tensor1d(meta.mean)).div(tf.tensor1d(meta.std)).expandDims(0);
    const probabilities = Array.from(tf.softmax(model.predict(x) as tf.Tensor2D).dataSync());
    const best = probabilities.indexOf(Math.max(...probabilities));
    return { pixels: Array.from(pixels.dataSync()), probabilities, label: meta.classNames[best]! };
  });
}

/** Trains the seed model's architecture on random data and returns the second epoch's img/s. */
async function bench(backend: BackendName, steps = 10, batchSize = 64): Promise<{ backend: string; threads: number; imagesPerSec: number }> {
  await useBackend(backend);
  const model = mobileNetV2Mnist({ seed: 1 });
  const n = steps * batchSize;
  const images = tf.randomUniform([n, 28, 28, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
  const data = tensorDataset(images, Array.from({ length: n }, (_, i) => i % 10), { classNames: [...'0123456789'], mean: [0.1307], std: [0.3081] });
  images.dispose();
  try {
    const result = await train(model, data, { epochs: 2, batchSize, seed: 1 }); // epoch 1 warms up
    return { backend: tf.getBackend(), threads: (await backendInfo()).threads, imagesPerSec: result.history[1]!.trainImagesPerSec };
  } finally {
    data.dispose();
    model.dispose();
  }
}

async function main(): Promise<void> {
  // ?threads=N asks TF.js's threaded wasm build for N threads; it runs at most hardwareConcurrency / 2.
  if (params.has('threads')) setThreadsCount(Number(params.get('threads')));
  const choice = $<HTMLSelectElement>('backend');
  choice.value = params.get('backend') ?? 'auto';
  choice.onchange = () => {
    params.set('backend', choice.value);
    location.search = params.toString();
  };
  await useBackend(choice.value as BackendName);
  const info = await backendInfo();
  Object.assign(state, { backend: info.name, threads: info.threads });
  $('status').textContent = [
    `backend: ${info.name}${info.ownKernels ? ' with mobilenetv2-tfjs SIMD kernels' : ''}`,
    info.name === 'wasm' ? `threads: ${info.threads}${info.threads > 1 ? '' : state.crossOriginIsolated ? ' (TF.js runs hardwareConcurrency / 2)' : ' (more need a cross-origin isolated page)'}` : '',
    info.simd ? 'SIMD' : '',
    state.crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated',
  ].filter(Boolean).join(' · ');

  const mnist = await tf.loadLayersModel('model/model.json');
  const mnistMeta = readModelMetadata(mnist, 'model/model.json');

  // 1. Draw a digit
  const drawInput = $<HTMLCanvasElement>('draw-input');
  const drawPad = $<HTMLCanvasElement>('draw-pad');
  let pending = false;
  const onDraw = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      const input = mnistStyle(drawPad, drawInput);
      state.draw = input && classify(mnist, mnistMeta, input);
      if (state.draw) drawBars($('draw-bars'), mnistMeta.classNames, state.draw.probabilities);
      else $('draw-bars').replaceChildren();
    });
  };
  const draw = drawingPad(drawPad, onDraw);
  $('draw-clear').onclick = () => draw.clear();

  // 2. Teach it
  const classes: TeachClass[] = [{ name: 'A', examples: [] }, { name: 'B', examples: [] }];
  const teachPad = $<HTMLCanvasElement>('teach-pad');
  let taught: { model: tf.LayersModel; meta: ModelMetadata } | null = null;
  let video: HTMLVideoElement | null = null;
  const teachInput = document.createElement('canvas');
  teachInput.width = teachInput.height = 28;
  const capture = (): HTMLCanvasElement | null => {
    const frame = document.createElement('canvas');
    frame.width = frame.height = 28;
    if (video) {
      frame.getContext('2d')!.drawImage(video, 0, 0, 28, 28);
      return frame;
    }
    return mnistStyle(teachPad, frame);
  };
  const onTeachDraw = () => {
    if (!taught) return;
    const input = mnistStyle(teachPad, teachInput);
    state.teach = input && classify(taught.model, taught.meta, input);
    if (state.teach) drawBars($('teach-bars'), taught.meta.classNames, state.teach.probabilities);
  };
  const teach = drawingPad(teachPad, () => requestAnimationFrame(onTeachDraw));
  $('teach-clear').onclick = () => teach.clear();

  const renderClasses = () => {
    $('classes').replaceChildren(...classes.map((c, index) => {
      const row = document.createElement('div');
      row.className = 'cls';
      const name = document.createElement('input');
      name.value = c.name;
      name.oninput = () => (c.name = name.value.trim() || `class ${index + 1}`);
      const add = document.createElement('button');
      add.textContent = '+ example';
      add.dataset.class = String(index);
      add.onclick = () => {
        const example = capture();
        if (!example) return;
        c.examples.push(example);
        if (!video) teach.clear();
        renderClasses();
      };
      const thumbs = document.createElement('span');
      thumbs.className = 'thumbs';
      thumbs.append(...c.examples);
      const count = document.createElement('small');
      count.textContent = `${c.examples.length} example${c.examples.length === 1 ? '' : 's'}`;
      row.append(name, add, count, thumbs);
      return row;
    }));
  };
  renderClasses();
  $('add-class').onclick = () => {
    classes.push({ name: String.fromCharCode(65 + classes.length), examples: [] });
    renderClasses();
  };

  const devices = await navigator.mediaDevices?.enumerateDevices().catch(() => []) ?? [];
  if (devices.some((d) => d.kind === 'videoinput')) {
    $('webcam').hidden = false;
    $('webcam').onclick = async () => {
      video = $<HTMLVideoElement>('video');
      video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 280, height: 210 } });
      video.hidden = false;
    };
  }

  $('train').onclick = async () => {
    const used = classes.filter((c) => c.examples.length > 0);
    if (used.length < 2) {
      $('train-metrics').textContent = 'Add examples to at least two classes first.';
      return;
    }
    const button = $<HTMLButtonElement>('train');
    button.disabled = true;
    Object.assign(state, { training: true, losses: [], tensorsAfterStep: [], error: null });
    const data = pixelDataset(used.flatMap((c) => c.examples), used.flatMap((c, i) => c.examples.map(() => i)), {
      size: [28, 28], channels: 1, classNames: used.map((c) => c.name), mean: mnistMeta.mean, std: mnistMeta.std,
      augment: { shift: 0.1 },
    });
    try {
      const { model } = await rebuildWithHead(mnist, { numClasses: used.length, freshHead: true, seed: 1 });
      const epochs = Math.max(1, Math.min(200, Number($<HTMLInputElement>('epochs').value) || 15));
      await train(model, data, {
        epochs, batchSize: 16, learningRate: 1e-3, augment: true, seed: 1, logEvery: 1,
        callbacks: {
          async onLog(m) {
            state.losses.push(m.loss);
            state.tensorsAfterStep.push(tf.memory().numTensors);
            state.imagesPerSec = m.imagesPerSec;
            $('train-metrics').textContent =
              `epoch ${m.epoch}/${epochs} · step ${state.losses.length} · loss ${m.loss.toFixed(4)} · ${m.imagesPerSec.toFixed(0)} img/s on ${tf.getBackend()}`;
            drawLoss($<HTMLCanvasElement>('loss-chart'), state.losses);
            await nextTask();
          },
        },
      });
      taught?.model.dispose();
      const meta = datasetMetadata(data, { source: 'mobilenetv2-tfjs web demo', baseModel: 'examples/web/model' });
      model.setUserDefinedMetadata(meta);
      taught = { model, meta };
      state.trained = true;
      $<HTMLButtonElement>('save').disabled = false;
      onTeachDraw();
    } catch (error) {
      state.error = (error as Error).message;
      $('train-metrics').textContent = `Training failed: ${state.error}`;
      throw error;
    } finally {
      data.dispose();
      state.training = false;
      button.disabled = false;
    }
  };

  // 3. Save
  $('save').onclick = async () => {
    // The 'downloads://' route is TF.js's browserDownloads handler (not exported by name in tfjs 4).
    if (taught) await taught.model.save('downloads://mobilenetv2-taught');
  };

  for (const tab of ['draw', 'teach']) {
    $(`tab-${tab}`).onclick = () => {
      for (const other of ['draw', 'teach']) {
        $(other).hidden = other !== tab;
        $(`tab-${other}`).setAttribute('aria-selected', String(other === tab));
      }
    };
  }
  state.ready = true;
}

// The whole library too, for the browser tests and for trying it from the devtools console.
Object.assign(globalThis, { demo: { state, tf, bench, library } });
main().catch((error: Error) => {
  state.error = error.message;
  $('status').textContent = `Failed to start: ${error.message}`;
  console.error(error);
});
