import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, configPathFrom, envNameOf, loadConfig, parseProperties } from '../../src/config/load.ts';

// A copy of shared/fixtures/red5-web.properties: a classic file as an operator has it.
const FIXTURE = new URL('../fixtures/red5-web.properties', import.meta.url).pathname;

describe('configuration', () => {
  it('starts from the classic fixture unchanged and ignores keys it does not use', () => {
    const c = loadConfig({ file: FIXTURE });
    assert.equal(c.config.dbHost, '127.0.0.1');
    assert.equal(c.rest.administratorToken, 'xyz123');
    assert.equal(c.instancecontroller.instanceNamePrefix, 'unittest');
    assert.equal(c.instancecontroller.nodeStateToleranceTime, 180000);
    assert.deepEqual(c.managed.availabilityZoneNames, ['us-test1-a']);
    assert.equal(c.managed.recycleDeadNodes, true);
    assert.equal(c.proxy.enabled, true);
    assert.equal(c.location.region, '');
    assert.equal(c.instanceevaluator['subscribers.metricweight'], 60);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.cluster));
  });

  it('uses the defaults of design §3 with no file at all', () => {
    const c = loadConfig({});
    assert.equal(c.server.port, 5080);
    assert.equal(c.server.host, '0.0.0.0');
    assert.equal(c.server.dataDir, './data');
    assert.equal(c.config.dbHost, '', 'no database host: embedded SQLite');
    assert.equal(c.config.dbName, 'cluster');
    assert.equal(c.instancecontroller.nodeStateToleranceTime, 30000);
    assert.equal(c.instancecontroller.newNodePingTimeThreshold, 150000);
    assert.equal(c.cluster.reportingSpeed, 10000);
    assert.deepEqual(c.managed.regionNames, ['us-test1']);
    assert.equal(c.rest.administratorToken, '');
  });

  it('applies SM_* environment overrides after the file', () => {
    const c = loadConfig({
      text: 'server.port=6000\ncluster.password=fromfile\n',
      env: { SM_SERVER_PORT: '7000', SM_CLUSTER_PASSWORD: 'fromenv', SM_MANAGED_RECYCLEDEADNODES: 'false', SM_CONFIG_DBHOST: 'db.local' },
    });
    assert.equal(c.server.port, 7000);
    assert.equal(c.cluster.password, 'fromenv');
    assert.equal(c.managed.recycleDeadNodes, false);
    assert.equal(c.config.dbHost, 'db.local');
    assert.equal(envNameOf('rest.administratorToken'), 'SM_REST_ADMINISTRATORTOKEN');
  });

  it('reports every bad key in one error and never echoes secrets', () => {
    let err: ConfigError | undefined;
    try {
      loadConfig({
        text: 'server.port=http\ncluster.reportingSpeed=-5\nmanaged.recycleDeadNodes=maybe\nproxy.enabled=yes\n',
        env: { SM_SERVER_LOGLEVEL: 'loud', SM_CONFIG_DBPORT: 'x' },
      });
    } catch (e) {
      err = e as ConfigError;
    }
    assert.ok(err instanceof ConfigError);
    const keys = ['server.port', 'cluster.reportingSpeed', 'managed.recycleDeadNodes', 'proxy.enabled', 'server.logLevel', 'config.dbPort'];
    assert.equal(err.problems.length, keys.length, err.message);
    for (const k of keys) assert.match(err.message, new RegExp(k.replace('.', '\\.')));
    assert.throws(() => loadConfig({ text: 'config.dbPort=99999\nconfig.dbPass=s3cret\n' }), (e: Error) => !e.message.includes('s3cret'));
  });

  it('parses .properties syntax: comments, colons, continuations, escapes', () => {
    const p = parseProperties('# c\n! c\na=1\nb : two\nc=multi \\\n  line\nd\\:x=y\n');
    assert.equal(p.get('a'), '1');
    assert.equal(p.get('b'), 'two');
    assert.equal(p.get('c'), 'multi line');
    assert.equal(p.get('d:x'), 'y');
  });

  it('finds the config path in --config or SM_CONFIG', () => {
    assert.equal(configPathFrom(['--config', 'a.properties'], {}), 'a.properties');
    assert.equal(configPathFrom(['--config=b.properties'], { SM_CONFIG: 'c' }), 'b.properties');
    assert.equal(configPathFrom([], { SM_CONFIG: 'c.properties' }), 'c.properties');
    assert.equal(configPathFrom([], {}), undefined);
  });
});
