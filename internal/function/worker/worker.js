'use strict';
// Junction's Node.js language worker. Junction starts it with
//   node worker.js serve   (listens on 127.0.0.1:$JUNCTION_WORKER_PORT)
//   node worker.js index FILE   (loads the app, writes its functions to FILE, exits)
// with JUNCTION_FUNCTION_APP_DIR naming the function app folder and the app
// settings in the environment. It loads the app as Azure's Node.js worker does:
// the v3 model (function.json + scriptFile/entryPoint) and the v4 model (the
// @azure/functions package from the app's node_modules, which registers its
// functions through the @azure/functions-core module supplied here).
//
// Protocol (JSON over HTTP, one request per invocation, each carrying the
// X-Junction-Worker-Token header with $JUNCTION_WORKER_TOKEN):
//   GET  /functions -> {functions: [{name, model, bindings?}], errors: [{function, message}]}
//   POST /invoke    {invocationId, function, trigger: {type, name}, value, http, bindingData, traceparent}
//                -> {outputs, http, returnValue, logs, error}
// where http (request) is {method, url, headers: {k: [v]}, query: {k: [v]}, params, body64}
// and an http output is {status, headers: {k: [v]}, body64}.

const fs = require('fs');
const http = require('http');
const path = require('path');
const util = require('util');
const Module = require('module');
const crypto = require('crypto');
const { pathToFileURL } = require('url');
const { AsyncLocalStorage } = require('async_hooks');

const appDir = path.resolve(process.env.JUNCTION_FUNCTION_APP_DIR || '.');
// The host sends this token with every call; the app's code does not see it.
const workerToken = process.env.JUNCTION_WORKER_TOKEN || '';
delete process.env.JUNCTION_WORKER_TOKEN;
const invocationStore = new AsyncLocalStorage();
const MAX_LOG = 64 << 10;

// ---- logs: console and context.log go to the running invocation ----------

function addLog(level, message) {
    const inv = invocationStore.getStore();
    if (!inv) {
        process.stderr.write(`[${level}] ${message}\n`);
        return;
    }
    if (inv.logBytes > MAX_LOG) {
        return;
    }
    inv.logBytes += message.length;
    if (inv.logBytes > MAX_LOG) {
        message = 'further logs were dropped (64 KiB per invocation)';
        level = 'warning';
    }
    inv.logs.push({ time: new Date().toISOString(), level, message });
}

const rpcLevels = { trace: 'trace', debug: 'trace', information: 'information', warning: 'warning', error: 'error', critical: 'error', none: 'information' };
for (const [method, level] of [['log', 'information'], ['info', 'information'], ['warn', 'warning'], ['error', 'error'], ['debug', 'trace'], ['trace', 'trace']]) {
    const orig = console[method].bind(console);
    console[method] = (...args) => {
        if (invocationStore.getStore()) {
            addLog(level, util.format(...args));
        } else {
            orig(...args);
        }
    };
}

// ---- @azure/functions-core: what the v4 library asks of its host ----------

class Disposable {
    #callback;
    constructor(callback) {
        this.#callback = callback;
    }
    static from(...items) {
        return new Disposable(() => items.forEach((d) => d.dispose()));
    }
    dispose() {
        if (this.#callback) {
            this.#callback();
            this.#callback = undefined;
        }
    }
}

const v4Functions = new Map(); // name -> {metadata, callback}
const hooks = { appStart: [], appTerminate: [], preInvocation: [], postInvocation: [], log: [] };
let programmingModel;
const appHookData = {};
const appLevelOnlyHookData = {};

const core = {
    version: '3.10.1',
    hostVersion: '4.1037.0',
    Disposable,
    registerFunction(metadata, callback) {
        if (!metadata || !metadata.name) {
            throw new Error('registerFunction needs metadata with a name');
        }
        if (v4Functions.has(metadata.name.toLowerCase())) {
            throw new Error(`A function with name "${metadata.name}" has already been registered.`);
        }
        v4Functions.set(metadata.name.toLowerCase(), { metadata, callback });
        return new Disposable(() => v4Functions.delete(metadata.name.toLowerCase()));
    },
    setProgrammingModel(model) {
        programmingModel = model;
    },
    getProgrammingModel() {
        return programmingModel;
    },
    registerHook(hookName, callback) {
        const list = hooks[hookName];
        if (!list) {
            throw new RangeError(`Unrecognized hook "${hookName}"`);
        }
        list.push(callback);
        return new Disposable(() => {
            const i = list.indexOf(callback);
            if (i >= 0) {
                list.splice(i, 1);
            }
        });
    },
    log(level, category, message) {
        if (category === 'system' && level !== 'warning' && level !== 'error') {
            return;
        }
        addLog(rpcLevels[level] || 'information', String(message));
    },
};

const originalRequire = Module.prototype.require;
Module.prototype.require = function (id) {
    if (id === '@azure/functions-core') {
        return core;
    }
    return originalRequire.apply(this, arguments);
};

// ---- loading --------------------------------------------------------------

function readJSON(file) {
    let text = fs.readFileSync(file, 'utf8');
    if (text.charCodeAt(0) === 0xfeff) {
        text = text.slice(1);
    }
    return JSON.parse(text);
}

async function loadModule(file) {
    const ext = path.extname(file);
    if (ext === '.mjs' || (ext === '.js' && packageType(path.dirname(file)) === 'module')) {
        return import(pathToFileURL(file).href);
    }
    return require(file);
}

function packageType(dir) {
    for (let d = dir; ; d = path.dirname(d)) {
        const p = path.join(d, 'package.json');
        if (fs.existsSync(p)) {
            try {
                return readJSON(p).type || 'commonjs';
            } catch {
                return 'commonjs';
            }
        }
        if (path.dirname(d) === d || !d.startsWith(appDir)) {
            return 'commonjs';
        }
    }
}

// expandMain turns package.json's main (a path or a glob with {a,b} and *)
// into files, as the Node worker does.
function expandMain(pattern) {
    const braces = pattern.match(/^(.*?)\{([^{}]*)\}(.*)$/);
    if (braces) {
        return braces[2].split(',').flatMap((alt) => expandMain(braces[1] + alt + braces[3]));
    }
    if (!pattern.includes('*')) {
        return [path.join(appDir, pattern)];
    }
    const parts = pattern.split('/');
    let dirs = [appDir];
    for (let i = 0; i < parts.length; i++) {
        const part = parts[i];
        const last = i === parts.length - 1;
        const next = [];
        for (const d of dirs) {
            if (part === '**') {
                walk(d, (p) => next.push(p));
                continue;
            }
            if (!part.includes('*')) {
                next.push(path.join(d, part));
                continue;
            }
            const re = new RegExp('^' + part.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*') + '$');
            let entries = [];
            try {
                entries = fs.readdirSync(d, { withFileTypes: true });
            } catch {
                continue;
            }
            for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
                if (re.test(e.name) && (last ? e.isFile() : e.isDirectory())) {
                    next.push(path.join(d, e.name));
                }
            }
        }
        dirs = next;
    }
    return dirs;
}

function walk(dir, visit) {
    visit(dir);
    let entries = [];
    try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
        return;
    }
    for (const e of entries) {
        if (e.isDirectory() && e.name !== 'node_modules') {
            walk(path.join(dir, e.name), visit);
        }
    }
}

// findEntryPoint picks the function a v3 script exports, as Azure does: the
// entryPoint named in function.json, the single export, or run / index.
function findEntryPoint(mod, entryPoint, file) {
    if (typeof mod === 'function' && !entryPoint) {
        return mod;
    }
    if (mod && typeof mod === 'object') {
        if (entryPoint) {
            if (typeof mod[entryPoint] !== 'function') {
                throw new Error(`Unable to determine function entry point: ${entryPoint} is not exported by ${file}`);
            }
            return mod[entryPoint];
        }
        const keys = Object.keys(mod).filter((k) => k !== '__esModule');
        if (keys.length === 1 && typeof mod[keys[0]] === 'function') {
            return mod[keys[0]];
        }
        for (const name of ['run', 'index']) {
            if (typeof mod[name] === 'function') {
                return mod[name];
            }
        }
    }
    throw new Error(`Unable to determine function entry point of ${file}. If multiple functions are exported, you must indicate the entry point, either by naming it 'run' or 'index', or by naming it explicitly via the 'entryPoint' metadata property.`);
}

const v3Functions = new Map(); // name -> {name, dir, bindings, fn}
const loadErrors = [];

async function loadApp() {
    let pkg = {};
    const pkgFile = path.join(appDir, 'package.json');
    if (fs.existsSync(pkgFile)) {
        try {
            pkg = readJSON(pkgFile);
        } catch (err) {
            loadErrors.push({ function: '', message: `package.json: ${err.message}` });
        }
    }
    if (pkg.main) {
        const files = expandMain(pkg.main);
        if (files.length === 0) {
            loadErrors.push({ function: '', message: `package.json main "${pkg.main}" matches no file (is the TypeScript compiled?)` });
        }
        for (const file of files) {
            try {
                await loadModule(file);
            } catch (err) {
                loadErrors.push({ function: '', message: `loading ${path.relative(appDir, file)}: ${errorText(err)}` });
            }
        }
    } else if (!hasFunctionJSON()) {
        const file = path.join(appDir, 'index.js');
        if (fs.existsSync(file)) {
            try {
                await loadModule(file);
            } catch (err) {
                loadErrors.push({ function: '', message: `loading index.js: ${errorText(err)}` });
            }
        }
    }
    for (const entry of fs.readdirSync(appDir, { withFileTypes: true })) {
        if (!entry.isDirectory() || entry.name === 'node_modules') {
            continue;
        }
        const dir = path.join(appDir, entry.name);
        const fjson = path.join(dir, 'function.json');
        if (!fs.existsSync(fjson)) {
            continue;
        }
        const name = entry.name;
        try {
            const def = readJSON(fjson);
            if (def.excluded) {
                continue;
            }
            const script = def.scriptFile ? path.resolve(dir, def.scriptFile) : findDefaultScript(dir);
            const mod = await loadModule(script);
            const fn = findEntryPoint(mod, def.entryPoint, path.relative(appDir, script));
            v3Functions.set(name.toLowerCase(), { name, dir, bindings: def.bindings || [], fn });
        } catch (err) {
            loadErrors.push({ function: name, message: errorText(err) });
        }
    }
}

function hasFunctionJSON() {
    return fs.readdirSync(appDir, { withFileTypes: true }).some((e) => e.isDirectory() && fs.existsSync(path.join(appDir, e.name, 'function.json')));
}

function findDefaultScript(dir) {
    for (const f of ['index.js', 'index.mjs', 'index.cjs']) {
        if (fs.existsSync(path.join(dir, f))) {
            return path.join(dir, f);
        }
    }
    throw new Error('no scriptFile in function.json and no index.js in the function folder');
}

function errorText(err) {
    if (err && err.stack) {
        return String(err.stack).split('\n').slice(0, 4).join('\n');
    }
    return String(err);
}

function listFunctions() {
    const functions = [];
    for (const f of v3Functions.values()) {
        functions.push({ name: f.name, model: 'v3' });
    }
    for (const { metadata } of v4Functions.values()) {
        const bindings = Object.entries(metadata.bindings || {}).map(([name, b]) => {
            const { properties, ...rest } = b;
            return { ...rest, name };
        });
        functions.push({ name: metadata.name, model: 'v4', bindings });
    }
    return { functions, errors: loadErrors };
}

// ---- shared helpers ------------------------------------------------------

function camelKey(k) {
    return k.length > 0 ? k[0].toLowerCase() + k.slice(1) : k;
}

function camelCase(v) {
    if (Array.isArray(v)) {
        return v.map(camelCase);
    }
    if (v && typeof v === 'object' && !Buffer.isBuffer(v)) {
        const out = {};
        for (const [k, val] of Object.entries(v)) {
            out[camelKey(k)] = camelCase(val);
        }
        return out;
    }
    return v;
}

const binaryTypes = /^(application\/octet-stream|multipart\/|image\/|audio\/|video\/|application\/(zip|pdf|gzip))/i;

function isBinary(contentType) {
    return binaryTypes.test(contentType || '');
}

// cookieHeader serialises a cookie as Set-Cookie, as the Azure host does for
// the v3 model and the v4 model without streaming.
function cookieHeader(c) {
    let s = `${c.name}=${c.value}`;
    if (c.expires !== undefined && c.expires !== null) {
        const d = c.expires instanceof Date ? c.expires : new Date(c.expires);
        s += `; expires=${d.toUTCString()}`;
    }
    if (c.maxAge !== undefined && c.maxAge !== null) {
        s += `; max-age=${Math.trunc(Number(c.maxAge))}`;
    }
    if (c.domain) {
        s += `; domain=${c.domain}`;
    }
    s += `; path=${c.path || '/'}`;
    if (c.secure) {
        s += '; secure';
    }
    const sameSite = String(c.sameSite || '').toLowerCase();
    if (sameSite === 'lax' || sameSite === 'strict' || sameSite === 'none') {
        s += `; samesite=${sameSite}`;
    }
    if (c.httpOnly) {
        s += '; httponly';
    }
    return s;
}

function toBytes(body) {
    if (body === undefined || body === null) {
        return { bytes: Buffer.alloc(0), json: false };
    }
    if (Buffer.isBuffer(body)) {
        return { bytes: body, json: false };
    }
    if (ArrayBuffer.isView(body)) {
        return { bytes: Buffer.from(body.buffer, body.byteOffset, body.byteLength), json: false };
    }
    if (body instanceof ArrayBuffer) {
        return { bytes: Buffer.from(body), json: false };
    }
    if (typeof body === 'string') {
        return { bytes: Buffer.from(body), json: false };
    }
    return { bytes: Buffer.from(JSON.stringify(body)), json: true };
}

// ---- the v3 model ----------------------------------------------------------

// flatten gives a request's headers (lower-case names, values joined with
// ", ") and query (a repeated key's values joined with ","), as the Azure
// host passes them to the Node.js worker.
function flatten(h) {
    const headers = {};
    for (const [k, vs] of Object.entries(h.headers || {})) {
        headers[k.toLowerCase()] = vs.join(', ');
    }
    const query = {};
    for (const [k, vs] of Object.entries(h.query || {})) {
        query[k] = vs.join(',');
    }
    return { headers, query };
}

function v3Request(h) {
    const { headers, query } = flatten(h);
    const raw = Buffer.from(h.body64 || '', 'base64');
    let body;
    let rawBody;
    if (raw.length > 0) {
        if (isBinary(headers['content-type'])) {
            body = raw;
            rawBody = raw.toString('utf8');
        } else {
            rawBody = raw.toString('utf8');
            try {
                body = JSON.parse(rawBody);
            } catch {
                body = rawBody;
            }
        }
    }
    const req = {
        method: h.method,
        url: h.url,
        originalUrl: h.url,
        headers,
        query,
        params: h.params || {},
        body,
        rawBody,
        bufferBody: raw.length > 0 ? raw : undefined,
        user: null,
        get(field) {
            return headers[String(field).toLowerCase()];
        },
        parseFormBody() {
            const out = {};
            for (const [k, v] of new URLSearchParams(rawBody || '')) {
                out[k] = { value: Buffer.from(v) };
            }
            return { get: (n) => out[n], getAll: (n) => (out[n] ? [out[n]] : []), has: (n) => n in out, length: Object.keys(out).length };
        },
    };
    return req;
}

class V3Response {
    constructor(done) {
        this.headers = {};
        this.cookies = [];
        Object.defineProperty(this, '_done', { value: done, enumerable: false });
    }
    end(body) {
        if (body !== undefined) {
            this.body = body;
        }
        this._done();
        return this;
    }
    setHeader(field, val) {
        this.headers[String(field).toLowerCase()] = val;
        return this;
    }
    getHeader(field) {
        return this.headers[String(field).toLowerCase()];
    }
    removeHeader(field) {
        delete this.headers[String(field).toLowerCase()];
        return this;
    }
    status(code) {
        this.statusCode = code;
        return this;
    }
    sendStatus(code) {
        return this.status(code).end();
    }
    type(type) {
        return this.setHeader('content-type', type);
    }
    json(body) {
        this.type('application/json');
        return this.end(body);
    }
}
V3Response.prototype.send = V3Response.prototype.end;
V3Response.prototype.header = V3Response.prototype.setHeader;
V3Response.prototype.set = V3Response.prototype.setHeader;
V3Response.prototype.get = V3Response.prototype.getHeader;

function makeLog() {
    const log = (...args) => addLog('information', util.format(...args));
    log.error = (...args) => addLog('error', util.format(...args));
    log.warn = (...args) => addLog('warning', util.format(...args));
    log.info = (...args) => addLog('information', util.format(...args));
    log.verbose = (...args) => addLog('trace', util.format(...args));
    return log;
}

async function invokeV3(f, inv) {
    const trigger = f.bindings.find((b) => /trigger$/i.test(b.type || '')) || { name: inv.trigger.name };
    let doneResolve;
    let doneReject;
    const donePromise = new Promise((resolve, reject) => {
        doneResolve = resolve;
        doneReject = reject;
    });
    let doneCalled = false;
    const done = (err, result) => {
        if (doneCalled) {
            addLog('warning', "Error: 'done' has already been called. Please check your script for extraneous calls to 'done'.");
            return;
        }
        doneCalled = true;
        if (err) {
            doneReject(err);
        } else {
            doneResolve(result);
        }
    };
    let triggerValue;
    let req;
    let res;
    const bindingData = camelCase(inv.bindingData || {});
    bindingData.invocationId = inv.invocationId;
    bindingData.sys = { methodName: f.name, utcNow: new Date().toISOString(), randGuid: crypto.randomUUID() };
    if (inv.http) {
        req = v3Request(inv.http);
        res = new V3Response(() => done());
        triggerValue = req;
        bindingData.query = req.query;
        bindingData.headers = camelCase(req.headers);
        Object.assign(bindingData, req.params);
    } else if (/^timerTrigger$/i.test(trigger.type || '')) {
        triggerValue = camelCase(inv.value);
    } else {
        triggerValue = inv.value;
    }
    const bindings = { [trigger.name]: triggerValue };
    const context = {
        invocationId: inv.invocationId,
        executionContext: { invocationId: inv.invocationId, functionName: f.name, functionDirectory: f.dir, retryContext: null },
        bindings,
        bindingData,
        bindingDefinitions: f.bindings.map((b) => ({ name: b.name, type: b.type, direction: b.direction })),
        traceContext: { traceparent: inv.traceparent || null, tracestate: null, attributes: {} },
        log: makeLog(),
        done,
        req,
        res,
    };
    const inputs = f.bindings.filter((b) => b.direction === 'in').map((b) => bindings[b.name]);
    const ret = f.fn(context, ...inputs);
    let result;
    if (ret && typeof ret.then === 'function') {
        result = await ret;
        if (doneCalled) {
            result = result === undefined ? await donePromise.catch(() => undefined) : result;
        }
    } else {
        result = await donePromise;
    }
    const outputs = {};
    const httpOut = {};
    let returnValue;
    const returnBinding = f.bindings.find((b) => b.name === '$return');
    if (!returnBinding && result && typeof result === 'object') {
        for (const b of f.bindings) {
            if (b.direction === 'out' && b.name in result) {
                context.bindings[b.name] = result[b.name];
            }
        }
    }
    for (const b of f.bindings) {
        if (b.direction !== 'out') {
            continue;
        }
        let value;
        if (b.name === '$return') {
            value = result;
        } else if (b.name in context.bindings) {
            value = context.bindings[b.name];
        } else if ((b.type || '').toLowerCase() === 'http') {
            value = context.res;
        }
        if ((b.type || '').toLowerCase() === 'http') {
            const r = v3HttpOutput(value, res);
            if (r) {
                httpOut[b.name] = r;
            }
        } else if (value !== undefined) {
            if (b.name === '$return') {
                returnValue = value;
            } else {
                outputs[b.name] = value;
            }
        }
    }
    return { outputs, http: httpOut, returnValue };
}

function v3HttpOutput(value, premade) {
    if (value === undefined || value === null) {
        return undefined;
    }
    if (typeof value !== 'object') {
        return { status: 200, headers: { 'content-type': ['text/plain; charset=utf-8'] }, body64: Buffer.from(String(value)).toString('base64') };
    }
    const untouched = value === premade && value.statusCode === undefined && value.body === undefined && Object.keys(value.headers).length === 0 && value.cookies.length === 0;
    if (untouched) {
        return undefined;
    }
    let status = value.statusCode;
    if (status === undefined && typeof value.status !== 'function') {
        status = value.status;
    }
    status = status === undefined || status === null ? 200 : Number(status);
    const headers = {};
    for (const [k, v] of Object.entries(value.headers || {})) {
        headers[k.toLowerCase()] = Array.isArray(v) ? v.map(String) : [String(v)];
    }
    const { bytes, json } = toBytes(value.body);
    if (!headers['content-type'] && value.body !== undefined && value.body !== null) {
        headers['content-type'] = [json ? 'application/json; charset=utf-8' : Buffer.isBuffer(value.body) || ArrayBuffer.isView(value.body) ? 'application/octet-stream' : 'text/plain; charset=utf-8'];
    }
    if (Array.isArray(value.cookies) && value.cookies.length > 0) {
        headers['set-cookie'] = value.cookies.map(cookieHeader);
    }
    return { status, headers, body64: bytes.toString('base64') };
}

// ---- the v4 model ----------------------------------------------------------

let httpStreamUri;

function typed(v) {
    if (v === undefined || v === null) {
        return undefined;
    }
    if (typeof v === 'string') {
        return { string: v };
    }
    if (typeof v === 'number') {
        return Number.isInteger(v) ? { int: v } : { double: v };
    }
    return { json: JSON.stringify(v) };
}

function rpcHttp(h) {
    const { headers, query } = flatten(h);
    const body = Buffer.from(h.body64 || '', 'base64');
    return { http: { method: h.method, url: h.url, headers, query, params: h.params || {}, body: { bytes: body }, identities: [] } };
}

// proxyRequest sends the request to the library's own HTTP server when the
// app enabled HTTP streaming (app.setup({enableHttpStream: true})), as the
// Azure host does, and resolves with the response the library writes back.
function proxyRequest(h, invocationId) {
    return new Promise((resolve, reject) => {
        const target = new URL(httpStreamUri);
        const u = new URL(h.url);
        const headers = {};
        for (const [k, vs] of Object.entries(h.headers || {})) {
            headers[k] = vs.join(', ');
        }
        headers['x-ms-invocation-id'] = invocationId;
        headers['x-forwarded-host'] = u.host;
        headers['x-forwarded-proto'] = u.protocol.replace(':', '');
        const body = Buffer.from(h.body64 || '', 'base64');
        headers['content-length'] = String(body.length);
        delete headers['transfer-encoding'];
        const r = http.request({ host: target.hostname, port: target.port, method: h.method, path: u.pathname + u.search, headers }, (resp) => {
            const chunks = [];
            resp.on('data', (c) => chunks.push(c));
            resp.on('end', () => {
                const out = {};
                for (const [k, v] of Object.entries(resp.headers)) {
                    if (k === 'x-ms-invocation-id' || k === 'transfer-encoding' || k === 'connection' || k === 'keep-alive' || k === 'date') {
                        continue;
                    }
                    out[k] = Array.isArray(v) ? v : [String(v)];
                }
                resolve({ status: resp.statusCode, headers: out, body64: Buffer.concat(chunks).toString('base64') });
            });
            resp.on('error', reject);
        });
        r.on('error', reject);
        r.end(body);
    });
}

function rpcHttpToOutput(data) {
    if (!data || !data.http) {
        return undefined;
    }
    const h = data.http;
    const headers = {};
    for (const [k, v] of Object.entries(h.headers || {})) {
        headers[k.toLowerCase()] = [String(v)];
    }
    if (h.cookies && h.cookies.length > 0) {
        headers['set-cookie'] = h.cookies.map((c) =>
            cookieHeader({
                name: c.name,
                value: c.value,
                domain: c.domain && c.domain.value,
                path: c.path && c.path.value,
                expires: c.expires && c.expires.value ? new Date(Number(c.expires.value.seconds) * 1000) : undefined,
                secure: c.secure && c.secure.value,
                httpOnly: c.httpOnly && c.httpOnly.value,
                // RPC's "none" means unset; "explicitNone" is SameSite=None.
                sameSite: c.sameSite === 'explicitNone' ? 'None' : c.sameSite === 'none' ? undefined : c.sameSite,
                maxAge: c.maxAge && c.maxAge.value !== undefined ? c.maxAge.value : undefined,
            })
        );
    }
    let body = Buffer.alloc(0);
    if (h.body) {
        if (h.body.bytes) {
            body = Buffer.from(h.body.bytes);
        } else if (h.body.string !== undefined) {
            body = Buffer.from(h.body.string);
        } else if (h.body.json !== undefined) {
            body = Buffer.from(h.body.json);
        }
    }
    return { status: Number(h.statusCode || 200), headers, body64: body.toString('base64') };
}

function fromTyped(data) {
    if (!data) {
        return undefined;
    }
    if (data.string !== undefined) {
        try {
            return JSON.parse(data.string);
        } catch {
            return data.string;
        }
    }
    if (data.json !== undefined) {
        return JSON.parse(data.json);
    }
    if (data.bytes !== undefined) {
        return Buffer.from(data.bytes).toString('utf8');
    }
    if (data.int !== undefined) {
        return Number(data.int);
    }
    if (data.double !== undefined) {
        return data.double;
    }
    return undefined;
}

async function runHooks(name, context) {
    for (const hook of [...hooks[name]]) {
        await hook(context);
    }
}

async function invokeV4(f, inv) {
    if (!programmingModel) {
        throw new Error('the app registered functions without a programming model (is @azure/functions installed?)');
    }
    const metadata = f.metadata;
    const triggerName = Object.keys(metadata.bindings).find((n) => metadata.bindings[n].direction === 'in' && /trigger$/i.test(metadata.bindings[n].type));
    const triggerType = metadata.bindings[triggerName].type;
    const request = { invocationId: inv.invocationId, functionId: metadata.name, inputData: [], triggerMetadata: {}, traceContext: { traceParent: inv.traceparent || '', traceState: '', attributes: {} } };
    let proxied;
    if (inv.http) {
        const data = rpcHttp(inv.http);
        request.inputData.push({ name: triggerName, data });
        // The host's HTTP trigger metadata: headers, query and route parameters.
        request.triggerMetadata.Headers = { json: JSON.stringify(data.http.headers) };
        request.triggerMetadata.Query = { json: JSON.stringify(data.http.query) };
        for (const [k, v] of Object.entries(data.http.params)) {
            request.triggerMetadata[k] = { string: v };
        }
        if (httpStreamUri) {
            proxied = proxyRequest(inv.http, inv.invocationId);
            proxied.catch(() => {});
        }
    } else {
        request.inputData.push({ name: triggerName, data: typed(inv.value) });
        for (const [k, v] of Object.entries(inv.bindingData || {})) {
            const t = typed(v);
            if (t) {
                request.triggerMetadata[k] = t;
            }
        }
    }
    const coreCtx = {
        invocationId: inv.invocationId,
        request,
        metadata,
        state: undefined,
        log: (level, category, message) => core.log(level, category, message),
    };
    const model = programmingModel.getInvocationModel(coreCtx);
    const { context, inputs } = await model.getArguments();
    const pre = { hookData: {}, appHookData, invocationContext: context, inputs, functionCallback: f.callback };
    coreCtx.state = 'preInvocationHooks';
    await runHooks('preInvocation', pre);
    coreCtx.state = 'invocation';
    let result;
    let error = null;
    try {
        result = await model.invokeFunction(context, pre.inputs, pre.functionCallback);
    } catch (err) {
        error = err;
    }
    const post = { hookData: pre.hookData, appHookData, invocationContext: context, inputs: pre.inputs, result, error };
    coreCtx.state = 'postInvocationHooks';
    await runHooks('postInvocation', post);
    coreCtx.state = undefined;
    if (post.error) {
        throw post.error;
    }
    const response = await model.getResponse(context, post.result);
    const outputs = {};
    const httpOut = {};
    let returnValue;
    for (const o of response.outputData || []) {
        const b = metadata.bindings[o.name];
        if (b && b.type.toLowerCase() === 'http') {
            const r = rpcHttpToOutput(o.data);
            if (r) {
                httpOut[o.name] = r;
            }
        } else {
            outputs[o.name] = fromTyped(o.data);
        }
    }
    const ret = metadata.bindings.$return;
    if (ret && ret.type.toLowerCase() === 'http') {
        const r = proxied && !response.returnValue ? await proxied : rpcHttpToOutput(response.returnValue);
        if (r) {
            httpOut.$return = r;
        }
    } else if (response.returnValue !== undefined) {
        returnValue = fromTyped(response.returnValue);
    }
    if (triggerType === 'httpTrigger' && proxied && Object.keys(httpOut).length === 0) {
        httpOut.$return = await proxied;
    }
    return { outputs, http: httpOut, returnValue };
}

// ---- serving -----------------------------------------------------------------

async function handleInvoke(inv) {
    const key = String(inv.function || '').toLowerCase();
    const state = { logs: [], logBytes: 0 };
    return invocationStore.run(state, async () => {
        try {
            let out;
            if (v4Functions.has(key)) {
                out = await invokeV4(v4Functions.get(key), inv);
            } else if (v3Functions.has(key)) {
                out = await invokeV3(v3Functions.get(key), inv);
            } else {
                throw new Error(`function "${inv.function}" is not loaded in the Node.js worker`);
            }
            return { ...out, logs: state.logs };
        } catch (err) {
            const message = err instanceof Error ? err.message : util.format(err);
            return { logs: state.logs, error: { message, stack: err && err.stack ? String(err.stack) : '' } };
        }
    });
}

function send(res, status, value) {
    const body = JSON.stringify(value);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
}

async function serve() {
    await loadApp();
    if (programmingModel && typeof programmingModel.getCapabilities === 'function') {
        try {
            const caps = await programmingModel.getCapabilities({});
            httpStreamUri = caps && caps.HttpUri;
        } catch (err) {
            loadErrors.push({ function: '', message: `getCapabilities: ${errorText(err)}` });
        }
    }
    try {
        await runHooks('appStart', { hookData: appLevelOnlyHookData, appHookData, functionAppDirectory: appDir });
    } catch (err) {
        process.stderr.write(`appStart hook failed: ${errorText(err)}\n`);
    }
    const server = http.createServer((req, res) => {
        if (!workerToken || req.headers['x-junction-worker-token'] !== workerToken) {
            send(res, 401, { error: { message: 'the worker answers only its host' } });
            return;
        }
        if (req.method === 'GET' && req.url === '/functions') {
            send(res, 200, listFunctions());
            return;
        }
        if (req.method !== 'POST' || req.url !== '/invoke') {
            send(res, 404, { error: 'not found' });
            return;
        }
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', async () => {
            let inv;
            try {
                inv = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch (err) {
                send(res, 400, { error: { message: `bad invocation: ${err.message}` } });
                return;
            }
            send(res, 200, await handleInvoke(inv));
        });
    });
    server.keepAliveTimeout = 60000;
    server.listen(Number(process.env.JUNCTION_WORKER_PORT), '127.0.0.1');
    const stop = async () => {
        server.close();
        try {
            await runHooks('appTerminate', { hookData: appLevelOnlyHookData, appHookData });
        } catch (err) {
            process.stderr.write(`appTerminate hook failed: ${errorText(err)}\n`);
        }
        process.exit(0);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
}

process.on('unhandledRejection', (reason) => {
    addLog('error', `Unhandled promise rejection: ${errorText(reason)}`);
});

async function index(outFile) {
    await loadApp();
    fs.writeFileSync(outFile, JSON.stringify(listFunctions()));
    process.exit(0);
}

const [mode, arg] = process.argv.slice(2);
if (mode === 'index') {
    index(arg).catch((err) => {
        process.stderr.write(errorText(err) + '\n');
        process.exit(1);
    });
} else {
    serve().catch((err) => {
        process.stderr.write(errorText(err) + '\n');
        process.exit(1);
    });
}
