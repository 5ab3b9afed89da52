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
Object.defineProperty(exports, "__esModule", { value: true });
exports.httpCookies = void 0;
const functions_1 = require("@azure/functions");
function httpCookies(request, context) {
    return __awaiter(this, void 0, void 0, function* () {
        context.log(`Http function processed request for url "${request.url}"`);
        return {
            cookies: [
                {
                    name: 'mycookie',
                    value: 'myvalue',
                    maxAge: 200000,
                },
                {
                    name: 'mycookie2',
                    value: 'myvalue',
                    path: '/',
                    maxAge: '200000',
                },
                {
                    name: 'mycookie3-expires',
                    value: 'myvalue3-expires',
                    maxAge: 0,
                },
                {
                    name: 'mycookie4-samesite-lax',
                    value: 'myvalue',
                    sameSite: 'Lax',
                },
                {
                    name: 'mycookie5-samesite-strict',
                    value: 'myvalue',
                    sameSite: 'Strict',
                },
            ],
        };
    });
}
exports.httpCookies = httpCookies;
functions_1.app.http('httpCookies', {
    methods: ['GET', 'POST'],
    authLevel: 'anonymous',
    handler: httpCookies,
});
//# sourceMappingURL=httpCookies.js.map