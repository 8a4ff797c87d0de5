/** A Gemini answer with text and two function calls in one turn, as the Gemini API returns it. */
export const parallelCallsResponse = {
  candidates: [
    {
      content: {
        role: 'model',
        parts: [
          { text: 'Checking both cities.' },
          { functionCall: { name: 'get_weather', args: { city: 'Paris' } } },
          { functionCall: { name: 'get_weather', args: { city: 'Tokyo' } } },
        ],
      },
      finishReason: 'STOP',
      index: 0,
    },
  ],
  usageMetadata: { promptTokenCount: 61, candidatesTokenCount: 24, thoughtsTokenCount: 10, totalTokenCount: 95 },
  modelVersion: 'gemini-2.5-flash',
  responseId: 'resp_abc',
};
