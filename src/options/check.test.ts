import { describe, expect, it } from 'vitest';
import { checkInt, checkNumber, checkOneOf, checkOptions, checkRate, checkSize, keysOf, suggest } from './check.js';

describe('option checks', () => {
  it('return the value or throw one line naming the option and echoing what came in', () => {
    expect(checkInt('epochs', 3, { min: 1 })).toBe(3);
    expect(() => checkInt('epochs', 0, { min: 1 })).toThrow('epochs must be an integer >= 1; received `epochs=0`');
    expect(() => checkInt('epochs', 2.5, { min: 1 })).toThrow('epochs must be an integer >= 1; received `epochs=2.5`');
    expect(() => checkInt('epochs', '3', { min: 1 })).toThrow('epochs must be an integer >= 1; received `epochs="3"`');
    expect(() => checkInt('k', 7, { min: 1, max: 5 })).toThrow('k must be an integer >= 1 and <= 5; received `k=7`');
    expect(checkNumber('lr', 1e-3, { above: 0 })).toBe(1e-3);
    expect(() => checkNumber('lr', Number.NaN, { above: 0 })).toThrow('lr must be a finite number > 0; received `lr=NaN`');
    expect(() => checkNumber('lr', Infinity)).toThrow('lr must be a finite number; received `lr=Infinity`');
    expect(() => checkRate('valSplit', 1)).toThrow('valSplit must be a number in [0, 1); received `valSplit=1`');
    expect(() => checkOneOf('engine', 'ort', ['tfjs', 'onnxruntime', 'auto'])).toThrow("engine must be one of 'tfjs', 'onnxruntime', 'auto'; received `engine=\"ort\"`");
    expect(checkSize('inputSize', 96, 32)).toEqual([96, 96]);
    expect(checkSize('inputSize', [64, 96], 32)).toEqual([64, 96]);
    expect(() => checkSize('inputSize', [16, 96], 32)).toThrow('inputSize must be an integer >= 32 or [height, width] of them; received `inputSize=[16,96]`');
  });

  it('reject unknown option names with the closest allowed one', () => {
    const allowed = ['epochs', 'batchSize', 'learningRate'];
    expect(checkOptions({ epochs: 1 }, allowed, 'train')).toEqual({ epochs: 1 });
    expect(checkOptions(undefined, allowed, 'train')).toEqual({});
    expect(() => checkOptions({ batchsize: 8 }, allowed, 'train')).toThrow("unknown train option 'batchsize'; did you mean 'batchSize'?");
    expect(() => checkOptions({ learnRate: 8 }, allowed, 'train')).toThrow("did you mean 'learningRate'?");
    expect(() => checkOptions({ zzz: 1 }, allowed, 'train')).toThrow("unknown train option 'zzz'; allowed: epochs, batchSize, learningRate");
    expect(() => checkOptions(5 as never, allowed, 'train')).toThrow('train options must be an object; received 5');
    expect(suggest('Epochs', allowed)).toBe('epochs');
    expect(suggest('x', allowed)).toBeUndefined();
  });

  it('keysOf lists an interface key by key', () => {
    interface O { a?: number; b: string }
    expect(keysOf<O>()({ a: true, b: true })).toEqual(['a', 'b']);
  });
});
