/**
 * /api/v1/users: staff accounts. Admins manage everyone; a user may read and update their own
 * profile and password, but not their role or whether the account is active. A new password, a
 * deactivation or a deletion ends all the user's sessions; a new role makes their access tokens
 * stale (a refresh brings the new role). Either takes effect on every replica at once.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { eq, ilike, type SQL } from 'drizzle-orm';
import { Type } from 'typebox';
import { may } from '../auth/permissions.js';
import { hashPassword, verifyPassword } from '../auth/passwords.js';
import { ROLE_LABELS } from '../auth/role-labels.js';
import { endSessions, staleAccessTokens } from '../auth/sessions.js';
import { ROLES, users } from '../db/schema.js';
import { HttpError } from '../errors.js';
import { Email, Password, User } from '../auth/user-shapes.js';
import { registerCrud } from './crud.js';
import { containing, Name, normalizeEmail, Nullable, OneOf, optional, SerialIdParams, Strict, Text } from '../schemas.js';

const RoleName = OneOf(ROLES);

const editable = {
  email: Email,
  name: Nullable(Name(200)),
  role: RoleName,
  roleName: Nullable(Text(200)),
  isActive: Type.Boolean(),
  password: Password,
};
/** Fields only an admin may change, even on their own account. */
const ADMIN_ONLY = ['role', 'isActive'];
const { email, role, password, ...rest } = editable;

const usersRoutes: FastifyPluginAsyncTypebox = async (app) => {
  registerCrud(app, {
    prefix: '/users',
    resource: 'users',
    noun: 'User',
    tag: 'users',
    table: users,
    idColumn: users.id,
    idParams: SerialIdParams,
    item: User,
    createBody: Strict(
      { email, role, password, ...optional(rest) },
      {
        examples: [
          {
            email: 'sklad.lviv@nk-food.shop',
            name: 'Ірина Коваль',
            role: 'storekeeper',
            roleName: 'Комірник',
            password: 'Sklad-Lviv-2026',
          },
        ],
      },
    ),
    updateBody: Strict(
      optional({
        ...editable,
        currentPassword: Type.String({
          maxLength: 200,
          description: "required to change your own password (whatever your role); not to set another user's",
        }),
      }),
      { minProperties: 1, examples: [{ name: 'Ірина Коваль-Мельник', roleName: 'Старша комірниця' }] },
    ),
    self: ['read', 'update'],
    list: {
      filters: {
        role: RoleName,
        isActive: Type.Boolean(),
        email: Type.String({ minLength: 1, maxLength: 254, description: 'e-mail contains this, ignoring case' }),
      },
      where: (q) =>
        [
          q.role ? eq(users.role, q.role) : undefined,
          q.isActive !== undefined ? eq(users.isActive, q.isActive) : undefined,
          q.email ? ilike(users.email, containing(q.email)) : undefined,
        ] satisfies (SQL | undefined)[],
      sorts: { id: users.id, email: users.email, lastActivityAt: users.lastActivityAt },
      defaultSort: 'id',
    },
    // a user made without a role name is shown with their role's
    toInsert: async ({ password, email, ...body }) => ({
      ...body,
      roleName: body.roleName ?? ROLE_LABELS[body.role],
      email: normalizeEmail(email),
      passwordHash: await hashPassword(password),
    }),
    toUpdate: async ({ password, currentPassword, email, ...body }, before, { tx, request }) => {
      const isAdmin = may(request.user.role, 'users', 'update');
      const forbidden = isAdmin ? [] : ADMIN_ONLY.filter((field) => field in body);
      if (forbidden.length) throw new HttpError(403, 'FORBIDDEN', `Only an admin may change ${forbidden.join(', ')}`);
      const values: Partial<typeof users.$inferInsert> = { ...body };
      // a new role without a role name: the new role's, not the old one's
      if (body.role !== undefined && body.role !== before.role && !('roleName' in body)) values.roleName = ROLE_LABELS[body.role];
      if (email !== undefined) values.email = normalizeEmail(email);
      if (password !== undefined) {
        // one's own password, whatever the role; an admin setting someone else's needs none
        if (before.id === request.user.id) {
          if (currentPassword === undefined)
            throw new HttpError(400, 'CURRENT_PASSWORD_REQUIRED', 'currentPassword is required to change your own password');
          // through the transaction that holds the row: another connection would wait for a free one
          const [stored] = await tx.select({ hash: users.passwordHash }).from(users).where(eq(users.id, before.id));
          const check = await verifyPassword(currentPassword, stored?.hash);
          if (!check.ok) throw new HttpError(403, 'WRONG_PASSWORD', 'currentPassword is not your current password');
        }
        values.passwordHash = await hashPassword(password);
      }
      return values;
    },
    // after the row's own update: a legacy row that breaks a rule is corrected by it first
    // (PostgreSQL checks every rule on each update of the row, these included)
    afterUpdate: async (before, _after, { tx, body }) => {
      if (body.password !== undefined || body.isActive === false) await endSessions(tx, before.id);
      else if (body.role !== undefined && body.role !== before.role) await staleAccessTokens(tx, before.id);
    },
    // the trigger's NOTIFY reaches every replica after the commit; this one forgets at once
    committed: (id) => app.revocation.forget(Number(id)),
  });
};
export default usersRoutes;
