import account from './account.json';
import admin from './admin.json';
import auth from './auth.json';
import chat from './chat.json';
import common from './common.json';
import documents from './documents.json';

export default { account, admin, auth, chat, common, documents };
