import { parseCsv } from '../../src/datasets/csv.js';

describe('parseCsv', () => {
  it('parses quoted fields with commas, doubled quotes and line breaks, keeping start lines', () => {
    const text = '\ufeffid,audio,text\r\na,a.wav,"hello, world"\r\nb,b.wav,"she said ""hi""\nand left"\n\nc,c.wav,\n';
    expect(parseCsv(text, 'm.csv')).toEqual([
      { fields: ['id', 'audio', 'text'], line: 1 },
      { fields: ['a', 'a.wav', 'hello, world'], line: 2 },
      { fields: ['b', 'b.wav', 'she said "hi"\nand left'], line: 3 },
      { fields: ['c', 'c.wav', ''], line: 6 },
    ]);
  });

  it('accepts a last record without a line break and an empty quoted field', () => {
    expect(parseCsv('x,""', 'm.csv')).toEqual([{ fields: ['x', ''], line: 1 }]);
  });

  it.each([
    ['id,text\na,"never closed\n', 'm.csv line 2: a quoted field is never closed'],
    ['id,text\n\na,"quoted"tail\n', 'm.csv line 3: unexpected text after a closing quote'],
    ['id,text\na,"multi\nline" x\n', 'm.csv line 3: unexpected text after a closing quote'],
    ['id,text\na,b"c\n', 'm.csv line 2: a " inside an unquoted field'],
  ])('reports malformed input with its line: %j', (text, message) => {
    expect(() => parseCsv(text, 'm.csv')).toThrow(message);
  });
});
