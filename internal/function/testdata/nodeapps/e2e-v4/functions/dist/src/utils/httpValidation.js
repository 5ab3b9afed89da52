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
exports.isMissingResult = exports.hasValidOutputEnvelope = exports.hasDefinedField = exports.hasRequiredStringFields = exports.validateObjectOrArray = exports.validateObject = exports.getRequiredJsonBody = exports.getRequiredRouteParam = exports.getRequiredQueryParam = exports.notFound = exports.badRequest = void 0;
function badRequest(message) {
    return {
        status: 400,
        jsonBody: { error: message },
    };
}
exports.badRequest = badRequest;
function notFound(message) {
    return {
        status: 404,
        jsonBody: { error: message },
    };
}
exports.notFound = notFound;
function getRequiredQueryParam(request, name) {
    const value = request.query.get(name);
    if (!isNonEmptyString(value)) {
        return { response: badRequest(`Missing or invalid query parameter "${name}".`) };
    }
    return { value };
}
exports.getRequiredQueryParam = getRequiredQueryParam;
function getRequiredRouteParam(request, name) {
    const value = request.params[name];
    if (!isNonEmptyString(value)) {
        return { response: badRequest(`Missing or invalid route parameter "${name}".`) };
    }
    return { value };
}
exports.getRequiredRouteParam = getRequiredRouteParam;
function getRequiredJsonBody(request) {
    return __awaiter(this, void 0, void 0, function* () {
        try {
            const body = yield request.json();
            if (body === undefined || body === null) {
                return { response: badRequest('Missing or invalid request body.') };
            }
            return { value: body };
        }
        catch (_a) {
            return { response: badRequest('Missing or invalid request body.') };
        }
    });
}
exports.getRequiredJsonBody = getRequiredJsonBody;
function validateObject(payload, isValidItem, errorMessage) {
    if (!isJsonRecord(payload) || !isValidItem(payload)) {
        return badRequest(errorMessage);
    }
    return undefined;
}
exports.validateObject = validateObject;
function validateObjectOrArray(payload, isValidItem, errorMessage) {
    if (Array.isArray(payload)) {
        if (payload.length === 0) {
            return badRequest(errorMessage);
        }
        for (const item of payload) {
            if (!isJsonRecord(item) || !isValidItem(item)) {
                return badRequest(errorMessage);
            }
        }
        return undefined;
    }
    if (!isJsonRecord(payload) || !isValidItem(payload)) {
        return badRequest(errorMessage);
    }
    return undefined;
}
exports.validateObjectOrArray = validateObjectOrArray;
function hasRequiredStringFields(item, fieldNames) {
    return fieldNames.every((fieldName) => isNonEmptyString(item[fieldName]));
}
exports.hasRequiredStringFields = hasRequiredStringFields;
function hasDefinedField(item, fieldName) {
    return Object.prototype.hasOwnProperty.call(item, fieldName) && item[fieldName] !== undefined;
}
exports.hasDefinedField = hasDefinedField;
function hasValidOutputEnvelope(item) {
    const output = item['output'];
    return isNonEmptyString(output) || (Array.isArray(output) && output.length > 0 && output.every(isNonEmptyString));
}
exports.hasValidOutputEnvelope = hasValidOutputEnvelope;
function isMissingResult(value) {
    return Array.isArray(value) ? value.length === 0 : value === undefined || value === null;
}
exports.isMissingResult = isMissingResult;
function isJsonRecord(value) {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}
function isNonEmptyString(value) {
    return typeof value === 'string' && value.trim().length > 0;
}
//# sourceMappingURL=httpValidation.js.map