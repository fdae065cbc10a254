/**
 * How `segloss train` shows its progress, one of three ways:
 * - `bars`: two cli-progress bars on stderr (epochs; steps with ETA, loss and images/s), and a
 *   line per epoch above them; used when stderr is a terminal.
 * - `lines`: a line per epoch on stdout (stderr is no terminal: logs, CI).
 * - `json`: every event as one JSON line on stdout (`--json`), for scripts.
 * - `quiet`: nothing until the final result (`--quiet`).
 */
import { MultiBar, Presets, type SingleBar } from 'cli-progress';

import type { EpochEvent, StepEvent } from '../trainer/types';

export type ProgressMode = 'bars' | 'lines' | 'json' | 'quiet';

/** What a reporter is told. */
export interface ProgressReporter {
  /** Training starts (or resumes) at `epoch` of `epochs`, `stepsPerEpoch` steps each. */
  start(info: { epoch: number; epochs: number; stepsPerEpoch: number; stepInEpoch: number }): void;
  step(event: StepEvent): void;
  epoch(event: EpochEvent, epochs: number): void;
  /** A line for the user (not in json mode: there every record is an event). */
  note(text: string): void;
  /** A JSON record (json mode only). */
  record(value: Record<string, unknown>): void;
  stop(): void;
}

/** JSON.stringify with NaN and ±Infinity as null (JSON has no such numbers). */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));
}

function fixed(x: number | undefined, digits: number): string {
  return x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
}

/** The line printed after each epoch. */
export function epochLine(event: EpochEvent, epochs: number): string {
  const dice = event.metrics ? `, test mean Dice ${fixed(event.metrics.meanDice, 4)}, mean IoU ${fixed(event.metrics.meanIoU, 4)}` : '';
  return `epoch ${event.epoch + 1}/${epochs}: loss ${fixed(event.loss, 4)}${dice}`;
}

class BarsReporter implements ProgressReporter {
  #bars = new MultiBar(
    {
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
      format: '{label} |{bar}| {value}/{total} | ETA {eta_formatted} | loss {loss} | {ips} img/s',
    },
    Presets.shades_classic,
  );
  #epochBar: SingleBar | null = null;
  #stepBar: SingleBar | null = null;
  #stepsPerEpoch = 0;

  start(info: { epoch: number; epochs: number; stepsPerEpoch: number; stepInEpoch: number }): void {
    this.#stepsPerEpoch = info.stepsPerEpoch;
    this.#epochBar = this.#bars.create(info.epochs, info.epoch, { label: 'epochs', loss: '–', ips: '–' });
    this.#stepBar = this.#bars.create(info.stepsPerEpoch, info.stepInEpoch, { label: 'steps ', loss: '–', ips: '–' });
  }

  step(event: StepEvent): void {
    const inEpoch = (event.step % this.#stepsPerEpoch) + 1;
    this.#stepBar?.update(inEpoch, { loss: event.loss.toFixed(4), ips: event.imagesPerSecond.toFixed(0) });
  }

  epoch(event: EpochEvent, epochs: number): void {
    this.#bars.log(epochLine(event, epochs) + '\n');
    this.#epochBar?.update(event.epoch + 1, { loss: event.loss.toFixed(4) });
    this.#stepBar?.update(0);
  }

  note(text: string): void {
    if (this.#epochBar) this.#bars.log(text + '\n');
    else process.stderr.write(text + '\n');
  }

  record(): void {}

  stop(): void {
    this.#bars.stop();
  }
}

class LinesReporter implements ProgressReporter {
  start(): void {}
  step(): void {}
  epoch(event: EpochEvent, epochs: number): void {
    process.stdout.write(epochLine(event, epochs) + '\n');
  }
  note(text: string): void {
    process.stdout.write(text + '\n');
  }
  record(): void {}
  stop(): void {}
}

class JsonReporter implements ProgressReporter {
  start(info: { epoch: number; epochs: number; stepsPerEpoch: number; stepInEpoch: number }): void {
    this.record({ type: 'start', ...info });
  }
  step(event: StepEvent): void {
    this.record({ ...event });
  }
  epoch(event: EpochEvent): void {
    this.record({ ...event });
  }
  note(): void {}
  record(value: Record<string, unknown>): void {
    process.stdout.write(jsonLine(value) + '\n');
  }
  stop(): void {}
}

class QuietReporter implements ProgressReporter {
  start(): void {}
  step(): void {}
  epoch(): void {}
  note(): void {}
  record(): void {}
  stop(): void {}
}

/** The mode for `--json` / `--quiet` and the terminal. */
export function progressMode(options: { json?: boolean; quiet?: boolean }): ProgressMode {
  if (options.json) return 'json';
  if (options.quiet) return 'quiet';
  return process.stderr.isTTY ? 'bars' : 'lines';
}

export function createReporter(mode: ProgressMode): ProgressReporter {
  if (mode === 'bars') return new BarsReporter();
  if (mode === 'lines') return new LinesReporter();
  if (mode === 'json') return new JsonReporter();
  return new QuietReporter();
}
