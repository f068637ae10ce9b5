import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/errors';
import { type ZipContents, checkLayout } from '../../src/zip';
import { LayoutCollector } from '../../src/zip/layout';
import { buildZip, read } from './helpers';

function contentsOf(names: readonly string[]): ZipContents {
  const collector = new LayoutCollector();
  for (const name of names) collector.add(name);
  return { entryCount: names.length, layout: collector.summary() };
}

function layoutError(names: readonly string[], runtimes: readonly string[]): InvalidInputError {
  try {
    checkLayout(contentsOf(names), runtimes);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).code).toBe('ZipLayoutInvalid');
    return error as InvalidInputError;
  }
  throw new Error(`expected ZipLayoutInvalid for ${names.join(', ')} with ${runtimes.join(', ')}`);
}

const ALL_RUNTIMES = [
  'nodejs20',
  'nodejs18',
  'nodejs16',
  'nodejs14',
  'nodejs12',
  'nodejs10',
  'nodejs8',
  'nodejs6',
  'python3.10',
  'python3.9',
  'python3',
  'python2.7',
  'java11',
  'java8',
  'php7.2',
  'go1',
  'dotnetcore3.1',
  'dotnetcore2.1',
  'custom.debian10',
  'custom',
];

describe('checkLayout: the runtime folders', () => {
  it.each([
    ['nodejs20', 'nodejs/node_modules/left-pad/index.js'],
    ['nodejs6', 'nodejs/node_modules/left-pad/index.js'],
    ['python3.10', 'python/requests/__init__.py'],
    ['python2.7', 'python/six.py'],
    ['java11', 'java/lib/guava.jar'],
    ['java8', 'java/lib/guava.jar'],
    ['php7.2', 'php/vendor/autoload.php'],
  ])('%s accepts %s', (runtime, name) => {
    expect(() => checkLayout(contentsOf([name]), [runtime])).not.toThrow();
  });

  it.each(ALL_RUNTIMES)('%s accepts bin/ and lib/', (runtime) => {
    expect(() => checkLayout(contentsOf(['bin/ffmpeg']), [runtime])).not.toThrow();
    expect(() => checkLayout(contentsOf(['lib/libvips.so.42']), [runtime])).not.toThrow();
  });

  it('counts an explicit directory entry, and a file that implies its folders', () => {
    expect(() => checkLayout(contentsOf(['python/', 'README.md']), ['python3.9'])).not.toThrow();
    expect(() => checkLayout(contentsOf(['nodejs/node_modules/a/b/c.js']), ['nodejs18'])).not.toThrow();
  });

  it('does not count a file named like a folder', () => {
    layoutError(['python', 'bin'], ['python3.9']);
  });

  it('passes when one of several runtimes is served', () => {
    expect(() => checkLayout(contentsOf(['python/x.py']), ['nodejs20', 'python3.10'])).not.toThrow();
  });

  it('does not count a runtime folder for another runtime', () => {
    const error = layoutError(['python/x.py'], ['nodejs20']);
    expect(error.message).toContain('python/ only serves python runtimes, which the manifest does not list.');
  });

  it('does not count folders in the wrong case', () => {
    layoutError(['NodeJS/node_modules/a.js'], ['nodejs20']);
  });
});

describe('checkLayout: runtimes that take any layout', () => {
  it.each(['go1', 'dotnetcore3.1', 'dotnetcore2.1', 'custom', 'custom.debian10', 'custom.debian11', 'custom.debian12'])('%s accepts any layout', (runtime) => {
    expect(() => checkLayout(contentsOf(['main', 'config/app.yaml']), [runtime])).not.toThrow();
  });

  it('accepts any layout only when every runtime does', () => {
    expect(() => checkLayout(contentsOf(['main']), ['go1', 'custom'])).not.toThrow();
    layoutError(['main'], ['go1', 'nodejs20']);
  });
});

describe('checkLayout: messages for the usual mistakes', () => {
  it('explains node_modules/ at the top level', () => {
    const error = layoutError(['node_modules/left-pad/index.js', 'package.json'], ['nodejs20']);
    expect(error.message).toBe(
      "the zip's layout does not fit its runtimes (nodejs20): Function Compute mounts a layer at /opt and looks only in" +
        " /opt/nodejs/node_modules, /opt/bin and /opt/lib, so the zip's top level must hold nodejs/node_modules/, bin/ or lib/." +
        ' Found at the top level: node_modules/, package.json.' +
        ' node_modules/ is at the top level: move it under nodejs/, as nodejs/node_modules/.',
    );
    expect(error.context).toEqual({ runtimes: ['nodejs20'], topLevel: ['node_modules/', 'package.json'] });
  });

  it('explains nodejs/ without node_modules/', () => {
    expect(layoutError(['nodejs/index.js'], ['nodejs18']).message).toContain('nodejs/ holds no node_modules/: packages go in nodejs/node_modules/.');
  });

  it('explains java/ without lib/', () => {
    expect(layoutError(['java/guava.jar'], ['java11']).message).toContain('java/ holds no lib/: jars go in java/lib/.');
  });

  it('explains a layout zipped inside its folder', () => {
    const error = layoutError(['my-layer/python/requests/__init__.py', '__MACOSX/my-layer/._python'], ['python3.10']);
    expect(error.message).toContain("The layout sits inside my-layer/ (my-layer/python/): zip the folder's contents, not the folder itself.");
  });

  it('lists the places for several runtimes', () => {
    expect(layoutError(['README.md'], ['python3.10', 'java11', 'php7.2']).message).toContain(
      "looks only in /opt/python, /opt/java/lib, /opt/php, /opt/bin and /opt/lib, so the zip's top level must hold python/, java/lib/, php/, bin/ or lib/.",
    );
  });

  it('keeps the top-level sample bounded', () => {
    const names = Array.from({ length: 1000 }, (_, index) => `file${index}.py`);
    const error = layoutError(names, ['python3.9']);
    expect(error.message).toContain('file18.py, file19.py and more.');
    expect(error.context.topLevel).toHaveLength(20);
  });
});

describe('checkLayout: names', () => {
  it('ignores a leading ./ and empty or . segments', () => {
    expect(() => checkLayout(contentsOf(['./', './python/x.py']), ['python3'])).not.toThrow();
    expect(() => checkLayout(contentsOf(['nodejs//./node_modules/a.js']), ['nodejs20'])).not.toThrow();
  });

  it.each(['../python/x.py', 'python/../../x.py', '/python/x.py', 'C:/bin/tool', 'python\\x.py', 'python/x\u0001.py'])(
    'refuses %s in a real archive, naming it (it cannot land where its name says)',
    async (name) => {
      const error = await read(buildZip(['python/ok.py', name])).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvalidInputError);
      expect(error).toMatchObject({ code: 'ZipLayoutInvalid', context: { entry: name } });
      expect((error as Error).message).toContain(JSON.stringify(name));
    },
  );
});

describe('checkLayout: a zip with no file', () => {
  it.each(['go1', 'nodejs20'])('refuses folders alone, for %s', (runtime) => {
    const error = layoutError(['nodejs/', 'nodejs/node_modules/'], [runtime]);
    expect(error.message).toBe("the zip holds no file, only 2 empty folder(s) (nodejs/); zip the layer's files, not just its folders");
  });
});

describe('checkLayout: a zip of zips', () => {
  it.each(['go1', 'custom', 'nodejs20'])('refuses a zip holding only another zip, for %s', (runtime) => {
    const error = layoutError(['inner.zip'], [runtime]);
    expect(error.message).toBe('the zip holds only another zip (inner.zip); upload the inner archive itself');
  });

  it('refuses one whose files are all zips, folders aside, even inside a runtime folder', () => {
    const error = layoutError(['nodejs/', 'nodejs/node_modules/', 'nodejs/node_modules/a.ZIP', 'b.zip'], ['nodejs20']);
    expect(error.message).toMatch(/^the zip holds only other zips \(nodejs\/node_modules\/a\.ZIP, b\.zip\)/);
  });

  it('accepts a zip among other files', () => {
    expect(() => checkLayout(contentsOf(['python/data.zip', 'python/x.py']), ['python3'])).not.toThrow();
  });

  it('reads a real nested archive', async () => {
    const { contents } = await read(buildZip(['layer.zip'], { level: 0 }));
    expect(() => checkLayout(contents, ['python3'])).toThrow(/only another zip \(layer\.zip\)/);
  });
});
