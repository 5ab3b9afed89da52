"use strict";
// Copyright (c) .NET Foundation. All rights reserved.
// Licensed under the MIT License.
var __awaiter = (this && this.__awaiter) || function (thisArg, _arguments, P, generator) {
    function adopt(value) { return value instanceof P ? value : new P(function (resolve) { resolve(value); }); }
    return new (P || (P = Promise))(function (resolve, reject) {
        function fulfilled(value) { try { step(generator.next(value)); } catch (e) { reject(e); } }
        function rejected(value) { try { step(generator["throw"](value)); } catch (e) { reject(e); } }
        function step(result) { result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected); }
        step((generator = generator.apply(thisArg, _arguments || [])).next());
    });
};
var __asyncValues = (this && this.__asyncValues) || function (o) {
    if (!Symbol.asyncIterator) throw new TypeError("Symbol.asyncIterator is not defined.");
    var m = o[Symbol.asyncIterator], i;
    return m ? m.call(o) : (o = typeof __values === "function" ? __values(o) : o[Symbol.iterator](), i = {}, verb("next"), verb("throw"), verb("return"), i[Symbol.asyncIterator] = function () { return this; }, i);
    function verb(n) { i[n] = o[n] && function (v) { return new Promise(function (resolve, reject) { v = o[n](v), settle(resolve, reject, v.done, v.value); }); }; }
    function settle(resolve, reject, d, v) { Promise.resolve(v).then(function(v) { resolve({ value: v, done: d }); }, reject); }
};
Object.defineProperty(exports, "__esModule", { value: true });
exports.convertMbToB = exports.receiveStreamWithProgress = exports.createRandomStream = void 0;
const crypto = require("crypto");
const stream_1 = require("stream");
const delay_1 = require("./delay");
const oneMb = 1024 * 1024;
function createRandomStream(lengthInMb) {
    const stream = new stream_1.Readable();
    stream._read = () => { };
    setTimeout(() => {
        void sendRandomData(stream, lengthInMb);
    }, 5);
    return stream;
}
exports.createRandomStream = createRandomStream;
function sendRandomData(stream, lengthInMb) {
    return __awaiter(this, void 0, void 0, function* () {
        const maxChunkSize = oneMb;
        let remainingBytes = convertMbToB(lengthInMb);
        do {
            if (stream.readableLength > maxChunkSize) {
                yield (0, delay_1.delay)(5);
            }
            else {
                const chunkSize = Math.min(maxChunkSize, remainingBytes);
                stream.push(crypto.randomBytes(chunkSize));
                remainingBytes -= chunkSize;
            }
        } while (remainingBytes > 0);
        stream.push(null);
    });
}
function receiveStreamWithProgress(stream) {
    var _a, stream_2, stream_2_1;
    var _b, e_1, _c, _d;
    return __awaiter(this, void 0, void 0, function* () {
        let bytesReceived = 0;
        const logInterval = 500;
        let nextLogTime = Date.now();
        try {
            for (_a = true, stream_2 = __asyncValues(stream); stream_2_1 = yield stream_2.next(), _b = stream_2_1.done, !_b;) {
                _d = stream_2_1.value;
                _a = false;
                try {
                    const chunk = _d;
                    if (Date.now() > nextLogTime) {
                        nextLogTime = Date.now() + logInterval;
                        console.log(`Progress: ${convertBToMb(bytesReceived)}mb`);
                    }
                    bytesReceived += chunk.length;
                }
                finally {
                    _a = true;
                }
            }
        }
        catch (e_1_1) { e_1 = { error: e_1_1 }; }
        finally {
            try {
                if (!_a && !_b && (_c = stream_2.return)) yield _c.call(stream_2);
            }
            finally { if (e_1) throw e_1.error; }
        }
        return bytesReceived;
    });
}
exports.receiveStreamWithProgress = receiveStreamWithProgress;
function convertMbToB(mb) {
    return mb * oneMb;
}
exports.convertMbToB = convertMbToB;
function convertBToMb(bytes) {
    return Math.round(bytes / oneMb);
}
//# sourceMappingURL=streamHttp.js.map