"use strict";
// Copyright (c) .NET Foundation. All rights reserved.
// Licensed under the MIT License.
Object.defineProperty(exports, "__esModule", { value: true });
exports.isMissingReadResult = exports.hasItemsWithRequiredStringFields = exports.hasValidOutputEnvelope = exports.hasRequiredStringFields = exports.isNonEmptyString = exports.getJsonBody = exports.getQueryParam = exports.getRouteParam = void 0;
function getRouteParam(request, name) {
    var _a;
    return getRequiredString((_a = request.params) === null || _a === void 0 ? void 0 : _a[name]);
}
exports.getRouteParam = getRouteParam;
function getQueryParam(request, name) {
    var _a;
    return getRequiredString((_a = request.query) === null || _a === void 0 ? void 0 : _a[name]);
}
exports.getQueryParam = getQueryParam;
function getJsonBody(request) {
    var _a;
    let body = request.body;
    if (body === undefined || body === null || body === '') {
        body = (_a = request.rawBody) !== null && _a !== void 0 ? _a : request.bufferBody;
    }
    if (Buffer.isBuffer(body)) {
        body = body.toString();
    }
    if (typeof body === 'string') {
        const trimmedBody = body.trim();
        if (!trimmedBody) {
            return undefined;
        }
        try {
            body = JSON.parse(trimmedBody);
        }
        catch (_b) {
            return undefined;
        }
    }
    return body === null || body === undefined ? undefined : body;
}
exports.getJsonBody = getJsonBody;
function isNonEmptyString(value) {
    return typeof value === 'string' && value.trim().length > 0;
}
exports.isNonEmptyString = isNonEmptyString;
function hasRequiredStringFields(item, fieldNames) {
    return isObject(item) && fieldNames.every((fieldName) => isNonEmptyString(item[fieldName]));
}
exports.hasRequiredStringFields = hasRequiredStringFields;
function hasValidOutputEnvelope(body) {
    return isObject(body) && isStringOrStringArray(body.output);
}
exports.hasValidOutputEnvelope = hasValidOutputEnvelope;
function hasItemsWithRequiredStringFields(body, fieldNames) {
    return Array.isArray(body)
        ? body.length > 0 && body.every((item) => hasRequiredStringFields(item, fieldNames))
        : hasRequiredStringFields(body, fieldNames);
}
exports.hasItemsWithRequiredStringFields = hasItemsWithRequiredStringFields;
function isMissingReadResult(value) {
    return value === null || value === undefined || (Array.isArray(value) && value.length === 0);
}
exports.isMissingReadResult = isMissingReadResult;
function getRequiredString(value) {
    return isNonEmptyString(value) ? value.trim() : undefined;
}
function isStringOrStringArray(value) {
    return isNonEmptyString(value) || (Array.isArray(value) && value.length > 0 && value.every(isNonEmptyString));
}
function isObject(value) {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}
//# sourceMappingURL=httpValidation.js.map