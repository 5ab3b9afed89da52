// Copyright (c) .NET Foundation. All rights reserved.
// Licensed under the MIT License.

import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';

export async function httpTriggerHeaders(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    return { jsonBody: Object.fromEntries(request.headers) };
}

app.http('httpTriggerHeaders', {
    methods: ['GET', 'POST'],
    authLevel: 'anonymous',
    handler: httpTriggerHeaders,
});
